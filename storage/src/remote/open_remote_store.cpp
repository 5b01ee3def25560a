// Placeholder until the remote backend lands.
#include "fhirbridge/storage/remote_store.hpp"

namespace fhirbridge::storage {

Result<std::unique_ptr<Store>> open_remote_store(RemoteStoreOptions, crypto::Keychain&) {
  return Status(StatusCode::not_supported, "the remote iCure backend is not built yet");
}

}  // namespace fhirbridge::storage
