#define BOOST_TEST_MODULE fhirbridge
#include <boost/test/unit_test.hpp>
