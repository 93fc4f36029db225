// The server side of TLS, on OpenSSL's own API: the serving certificate, TLS 1.2 and
// newer, and client certificates asked for and verified in the handshake against a CA.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <optional>
#include <string>

namespace pulse::sidecar {

struct TlsOptions {
    std::string cert_file;       // PEM: the certificate, then its chain
    std::string key_file;        // PEM
    std::string client_ca_file;  // client certificates are verified against it when given
};

// Throws std::runtime_error naming the flag (--tls-cert, --tls-key, --client-ca) whose
// file cannot be used.
boost::asio::ssl::context make_server_tls_context(const TlsOptions &options);

// OpenSSL's oldest queued error as text, the queue cleared; "unknown OpenSSL error" when
// there is none. Shared by the server and the HTTP client.
std::string openssl_error();

// The subject ("/CN=front-proxy-client") of the certificate the client presented in a
// finished handshake, when OpenSSL verified it against the client CA; else nothing.
std::optional<std::string> verified_client_subject(SSL *ssl);

}  // namespace pulse::sidecar
