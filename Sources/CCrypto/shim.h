// OpenSSL's libcrypto (Debian: libssl-dev), for the SHA-256 digests of the artifact blob store.
#include <openssl/evp.h>
