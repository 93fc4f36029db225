#include "status_http.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <string>

#include "status_page.h"

namespace pulse::sidecar {

namespace {

// CSP's hash source: 'sha256-' and the base64 of the element's text's SHA-256.
std::string csp_hash(const std::string &text) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char *>(text.data()), text.size(), digest);
    unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(b64, digest, SHA256_DIGEST_LENGTH);
    return "'sha256-" + std::string(reinterpret_cast<char *>(b64), static_cast<std::size_t>(n)) +
           "'";
}

}  // namespace

HttpResponse status_page_response() {
    static const std::string policy = [] {
        const StatusPage &page = status_page();
        return "default-src 'none'; script-src " + csp_hash(page.script) + "; style-src " +
               csp_hash(page.style) +
               "; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'";
    }();
    return {200,
            "text/html; charset=utf-8",
            status_page().html,
            {{"Content-Security-Policy", policy},
             {"X-Content-Type-Options", "nosniff"},
             {"Referrer-Policy", "no-referrer"},
             {"Cache-Control", "no-store"}}};
}

}  // namespace pulse::sidecar
