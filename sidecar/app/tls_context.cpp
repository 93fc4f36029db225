#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

namespace pulse::sidecar {

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

namespace {

struct OpenSslFree {
    void operator()(char *p) const { OPENSSL_free(p); }
};

}  // namespace

boost::asio::ssl::context make_server_tls_context(const TlsOptions &options) {
    boost::asio::ssl::context context(boost::asio::ssl::context::tls_server);
    SSL_CTX *ctx = context.native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // A TLS 1.3 CertificateRequest must carry the CA list: Go clients (kubectl,
    // kube-apiserver) pick their certificate by it and reject an empty one.
    SSL_CTX_clear_options(ctx, SSL_OP_DISABLE_TLSEXT_CA_NAMES);
    // An idle connection gives its record buffers back until it reads again.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
        throw std::runtime_error("cannot load --tls-cert " + options.cert_file + ": " +
                                 openssl_error());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        throw std::runtime_error("cannot load --tls-key " + options.key_file + ": " +
                                 openssl_error());
    }
    if (!options.client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
            throw std::runtime_error("cannot load --client-ca " + options.client_ca_file + ": " +
                                     openssl_error());
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(options.client_ca_file.c_str());
        if (names == nullptr) {
            throw std::runtime_error("cannot load --client-ca " + options.client_ca_file +
                                     ": no CA certificate in it: " + openssl_error());
        }
        SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
        // Ask for a certificate and verify it when one is given: a certificate the CA did
        // not sign fails the handshake; probes and Prometheus come without one.
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    return context;
}

std::optional<std::string> verified_client_subject(SSL *ssl) {
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
    std::unique_ptr<char, OpenSslFree> subject(
        X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0));
    if (!subject) return std::nullopt;
    return std::string(subject.get());
}

}  // namespace pulse::sidecar
