#include "http_server.h"

#include <civetweb.h>
#include <dlfcn.h>
#include <link.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <cstring>
#include <iostream>
#include <mutex>
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

// Debian 12's civetweb 1.15 is built for the OpenSSL 1.1 API and loads libssl at run time
// by name. OpenSSL 3 no longer exports SSL_get_peer_certificate (it became a macro for
// SSL_get1_peer_certificate), so civetweb's pointer for it stays NULL and every TLS
// connection crashes in ssl_get_client_cert_info, which runs after each handshake. The
// fix: fill that one entry of civetweb's function table ({name, category, pointer}, in
// its writable data) with SSL_get1_peer_certificate, which has the same contract (a new
// reference, which civetweb frees). Nothing is changed when the entry is not NULL (a
// civetweb built for OpenSSL 3 looks up SSL_get1_peer_certificate itself).
struct CivetSegment {
    std::uintptr_t begin, end;
    bool writable;
};

struct CivetImage {
    bool found = false;
    std::vector<CivetSegment> segments;
    std::uintptr_t relro_begin = 0, relro_end = 0;
};

int find_civetweb(dl_phdr_info *info, std::size_t, void *data) {
    auto image = static_cast<CivetImage *>(data);
    if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libcivetweb") == nullptr) return 0;
    image->found = true;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr) &ph = info->dlpi_phdr[i];
        std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_R)) {
            image->segments.push_back({begin, begin + ph.p_memsz, (ph.p_flags & PF_W) != 0});
        } else if (ph.p_type == PT_GNU_RELRO) {
            image->relro_begin = begin;
            image->relro_end = begin + ph.p_memsz;
        }
    }
    return 1;
}

// Empty when civetweb's TLS is usable (patched or needing no patch), else why not.
std::string patch_civetweb_peer_certificate() {
    static std::mutex mutex;
    static bool done = false;
    std::lock_guard lock(mutex);
    if (done) return {};
    if (dlsym(RTLD_DEFAULT, "SSL_get_peer_certificate") != nullptr) {
        done = true;  // OpenSSL 1.1: civetweb finds it
        return {};
    }
    CivetImage image;
    dl_iterate_phdr(find_civetweb, &image);
    if (!image.found) {
        done = true;  // civetweb linked statically: built against these headers
        return {};
    }
    static constexpr char kName[] = "SSL_get_peer_certificate";
    auto readable = [&](std::uintptr_t p, std::size_t n) {
        for (const CivetSegment &s : image.segments) {
            if (p >= s.begin && p + n <= s.end) return true;
        }
        return false;
    };
    struct Entry {
        const char *name;
        int category;
        void (*ptr)(void);
    };
    bool wanted = false;  // civetweb's table names the function: it will call it
    for (const CivetSegment &s : image.segments) {
        if (!s.writable) continue;
        for (std::uintptr_t p = (s.begin + alignof(Entry) - 1) / alignof(Entry) * alignof(Entry);
             p + sizeof(Entry) <= s.end; p += alignof(Entry)) {
            auto name = *reinterpret_cast<const std::uintptr_t *>(p);
            if (!readable(name, sizeof kName) || std::memcmp(reinterpret_cast<const char *>(name), kName, sizeof kName) != 0) {
                continue;
            }
            wanted = true;
            auto entry = reinterpret_cast<Entry *>(p);
            if (entry->ptr != nullptr) continue;
            if (p >= image.relro_begin && p < image.relro_end) continue;  // read-only after relocation
            entry->ptr = reinterpret_cast<void (*)(void)>(&SSL_get1_peer_certificate);
            done = true;
            return {};
        }
    }
    if (!wanted) {
        done = true;
        return {};
    }
    return "civetweb's TLS cannot read client certificates with this OpenSSL "
           "(SSL_get_peer_certificate is missing and its entry could not be filled)";
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
        // civetweb 1.15 loading OpenSSL at run time sets option bits by its own OpenSSL 1.x
        // numbers before calling this; under OpenSSL 3 its SSL_OP_ALL includes
        // SSL_OP_DISABLE_TLSEXT_CA_NAMES, so a TLS 1.3 CertificateRequest carries an empty
        // certificate_authorities list, which Go clients (kubectl, kube-apiserver) reject
        // ("tls: unexpected message"). Start again from a fresh context's options.
        if (SSL_CTX *fresh = SSL_CTX_new(TLS_server_method())) {
            uint64_t defaults = SSL_CTX_get_options(fresh);
            SSL_CTX_free(fresh);
            SSL_CTX_clear_options(ctx, SSL_CTX_get_options(ctx));
            SSL_CTX_set_options(ctx, defaults | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                         SSL_OP_CIPHER_SERVER_PREFERENCE);
        }
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
    if (impl_->tls) {
        mg_init_library(MG_FEATURES_TLS);
        // After mg_init_library (which fills civetweb's OpenSSL table), before any connection.
        if (std::string error = patch_civetweb_peer_certificate(); !error.empty()) {
            throw std::runtime_error("cannot serve TLS on " + listen + ": " + error);
        }
    } else {
        mg_init_library(0);
    }

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
        // Without it every answer waits ~40 ms: the response is held by Nagle's algorithm
        // behind the unacknowledged TLS 1.3 session tickets, which the client acknowledges late.
        options.push_back("tcp_nodelay");
        options.push_back("1");
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
