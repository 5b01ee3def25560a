// open_remote_store: the remote backend behind the plain Store interface.
#include "fhirbridge/storage/remote_store.hpp"

namespace fhirbridge::storage {

Result<std::unique_ptr<Store>> open_remote_store(RemoteStoreOptions options,
                                                 crypto::Keychain& keychain) {
  auto store = RemoteStore::open(std::move(options), keychain);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace fhirbridge::storage
