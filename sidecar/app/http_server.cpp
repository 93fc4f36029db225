#include "http_server.h"

#include <civetweb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstring>
#include <iostream>
#include <stdexcept>

namespace pulse::sidecar {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
}

// civetweb wants "HOST:PORT" with an "s" suffix for TLS; IPv6 as "[::]:PORT".
std::string civet_ports(const std::string &listen, bool tls) {
    std::string p = listen;
    if (p.find(':') == std::string::npos) p = "0.0.0.0:" + p;
    return tls ? p + "s" : p;
}

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

}  // namespace

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
        } else if (s[i] == '+') {
            out.push_back(' ');
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

std::optional<std::string> HttpRequest::header(std::string_view name) const {
    for (const auto &[k, v] : headers) {
        if (iequals(k, name)) return v;
    }
    return std::nullopt;
}

std::optional<std::string> HttpRequest::param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        std::size_t amp = q.find('&');
        std::string_view item = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        std::size_t eq = item.find('=');
        std::string key = percent_decode(item.substr(0, eq));
        if (key == name) {
            return eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1));
        }
    }
    return std::nullopt;
}

struct HttpServer::Impl {
    HttpHandler handler;
    std::optional<TlsOptions> tls;
    mg_context *ctx = nullptr;
    std::string init_error;

    static int dispatch(mg_connection *conn, void *data) {
        auto self = static_cast<Impl *>(data);
        const mg_request_info *info = mg_get_request_info(conn);
        HttpRequest req;
        req.method = info->request_method ? info->request_method : "";
        req.path = info->local_uri_raw ? info->local_uri_raw : (info->local_uri ? info->local_uri : "");
        req.query = info->query_string ? info->query_string : "";
        req.remote = info->remote_addr;
        for (int i = 0; i < info->num_headers; ++i) {
            req.headers.emplace_back(info->http_headers[i].name, info->http_headers[i].value);
        }
        if (self->tls && info->client_cert != nullptr && info->client_cert->subject != nullptr) {
            // civetweb fills client_cert only for a certificate the TLS handshake verified
            // (SSL_VERIFY_PEER with our CA); an unverified one fails the handshake.
            req.client_subject = info->client_cert->subject;
        }
        HttpResponse res;
        try {
            res = self->handler(req);
        } catch (const std::exception &e) {
            res = HttpResponse{500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n", {}};
        }
        std::string head = "HTTP/1.1 " + std::to_string(res.status) + " " +
                           mg_get_response_code_text(conn, res.status) + "\r\n";
        head += "Content-Type: " + res.content_type + "\r\n";
        head += "Content-Length: " + std::to_string(res.body.size()) + "\r\n";
        head += "Cache-Control: no-store\r\n";
        for (const auto &[k, v] : res.headers) head += k + ": " + v + "\r\n";
        head += "\r\n";
        mg_write(conn, head.data(), head.size());
        if (req.method != "HEAD") mg_write(conn, res.body.data(), res.body.size());
        return res.status;
    }

    static int init_ssl(void *ssl_ctx, void *data) {
        auto self = static_cast<Impl *>(data);
        auto ctx = static_cast<SSL_CTX *>(ssl_ctx);
        const TlsOptions &t = *self->tls;
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        if (SSL_CTX_use_certificate_chain_file(ctx, t.cert_file.c_str()) != 1) {
            self->init_error = "cannot load --tls-cert " + t.cert_file + ": " + openssl_error();
            return -1;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, t.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            self->init_error = "cannot load --tls-key " + t.key_file + ": " + openssl_error();
            return -1;
        }
        if (!t.client_ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(ctx, t.client_ca_file.c_str(), nullptr) != 1) {
                self->init_error = "cannot load --client-ca " + t.client_ca_file + ": " + openssl_error();
                return -1;
            }
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t.client_ca_file.c_str());
            if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
            // Ask for a certificate, verify it when given; probes come without one.
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        }
        return 1;  // configured here; civetweb loads nothing itself
    }

    static int log_message(const mg_connection *, const char *message) {
        std::cerr << "pulse-sidecar: http: " << message << "\n";
        return 1;
    }
};

HttpServer::HttpServer(const std::string &listen, HttpHandler handler, int threads,
                       std::optional<TlsOptions> tls)
    : impl_(std::make_unique<Impl>()) {
    impl_->handler = std::move(handler);
    impl_->tls = std::move(tls);
    if (impl_->tls) mg_init_library(MG_FEATURES_TLS);
    else mg_init_library(0);

    std::string ports = civet_ports(listen, impl_->tls.has_value());
    std::string nthreads = std::to_string(threads);
    std::vector<const char *> options = {"listening_ports", ports.c_str(),
                                         "num_threads", nthreads.c_str(),
                                         "request_timeout_ms", "30000",
                                         "enable_keep_alive", "yes",
                                         "enable_auth_domain_check", "no"};
    if (impl_->tls) {
        options.push_back("ssl_protocol_version");
        options.push_back("4");  // TLS 1.2 and newer
    }
    options.push_back(nullptr);

    mg_callbacks callbacks{};
    callbacks.log_message = Impl::log_message;
    if (impl_->tls) callbacks.init_ssl = Impl::init_ssl;

    impl_->ctx = mg_start(&callbacks, impl_.get(), options.data());
    if (impl_->ctx == nullptr) {
        throw std::runtime_error("cannot listen on " + listen +
                                 (impl_->init_error.empty() ? std::string(" (address in use or not allowed)")
                                                            : ": " + impl_->init_error));
    }
    mg_set_request_handler(impl_->ctx, "/", Impl::dispatch, impl_.get());
}

HttpServer::~HttpServer() {
    if (impl_->ctx != nullptr) mg_stop(impl_->ctx);
}

int HttpServer::port() const {
    mg_server_port ports[4];
    int n = mg_get_server_ports(impl_->ctx, 4, ports);
    return n > 0 ? ports[0].port : 0;
}

}  // namespace pulse::sidecar
