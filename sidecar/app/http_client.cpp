#include "http_client.h"
#include "tls_context.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "content_coding.h"
#include "http_url.h"

namespace pulse::sidecar {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kHeaderLimit = 100 * 1024;  // as libcurl's limit for one header
constexpr std::size_t kReadChunk = 64 * 1024;

Clock::time_point after(Clock::time_point start, double seconds) {
    if (seconds <= 0) return Clock::time_point::max();
    return start + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(std::min(seconds, 10.0 * 365 * 24 * 3600)));
}

std::string ms_since(Clock::time_point start) {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

void arm(beast::tcp_stream &stream, Clock::time_point deadline) {
    if (deadline == Clock::time_point::max()) {
        stream.expires_never();
    } else {
        stream.expires_at(deadline);
    }
}

// ---- name lookup, bounded by the connect deadline ------------------------------------
// getaddrinfo cannot be interrupted: it runs in a thread of its own, which the caller
// stops waiting for at the deadline (as libcurl's threaded resolver). IP addresses are
// taken as they are.

struct Lookup {
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;
    std::vector<tcp::endpoint> endpoints;
    std::string error;
};

void resolve(Lookup &lookup, const std::string &host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *found = nullptr;
    int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    std::vector<tcp::endpoint> endpoints;
    std::string error;
    if (rc != 0) {
        error = "Could not resolve host: " + host + " (" + gai_strerror(rc) + ")";
    } else {
        for (addrinfo *a = found; a != nullptr; a = a->ai_next) {
            if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
            tcp::endpoint endpoint;
            if (a->ai_addrlen > endpoint.capacity()) continue;
            std::memcpy(endpoint.data(), a->ai_addr, a->ai_addrlen);
            endpoint.resize(a->ai_addrlen);
            endpoint.port(port);
            endpoints.push_back(endpoint);
        }
        freeaddrinfo(found);
        if (endpoints.empty()) error = "Could not resolve host: " + host + " (no address)";
    }
    std::lock_guard lock(lookup.mutex);
    lookup.endpoints = std::move(endpoints);
    lookup.error = std::move(error);
    lookup.done = true;
    lookup.finished.notify_all();
}

std::shared_ptr<Lookup> start_lookup(const std::string &host, std::uint16_t port) {
    auto lookup = std::make_shared<Lookup>();
    error_code ec;
    net::ip::address address = net::ip::make_address(host, ec);
    if (!ec) {
        lookup->endpoints.emplace_back(address, port);
        lookup->done = true;
        return lookup;
    }
    try {
        std::thread([lookup, host, port] { resolve(*lookup, host, port); }).detach();
    } catch (const std::exception &e) {
        lookup->error = "cannot resolve " + host + ": " + e.what();
        lookup->done = true;
    }
    return lookup;
}

bool wait_lookup(Lookup &lookup, Clock::time_point deadline, Clock::time_point start,
                 std::vector<tcp::endpoint> &endpoints, std::string &error) {
    std::unique_lock lock(lookup.mutex);
    auto done = [&lookup] { return lookup.done; };
    if (deadline == Clock::time_point::max()) {
        lookup.finished.wait(lock, done);
    } else if (!lookup.finished.wait_until(lock, deadline, done)) {
        error = "Resolving timed out after " + ms_since(start) + " milliseconds";
        return false;
    }
    if (!lookup.error.empty()) {
        error = lookup.error;
        return false;
    }
    endpoints = lookup.endpoints;
    return true;
}

// ---- TLS ----------------------------------------------------------------------------

// Made for each new connection, so a CA file or client certificate replaced on disk is
// read again (as libcurl did).
std::unique_ptr<ssl::context> make_client_context(const HttpClientOptions &o, std::string &error) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX *ctx = context->native_handle();
    ERR_clear_error();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    // An idle kept-alive connection gives its record buffers back until it is used again.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (o.ca_file.empty()) {
        if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            error = "cannot load the system's trusted CAs: " + openssl_error();
            return nullptr;
        }
    } else if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
        error = "cannot load the CA file " + o.ca_file + ": " + openssl_error();
        return nullptr;
    }
    if (!o.client_cert.empty()) {
        const std::string &key = o.client_key.empty() ? o.client_cert : o.client_key;
        if (SSL_CTX_use_certificate_chain_file(ctx, o.client_cert.c_str()) != 1) {
            error = "cannot load the client certificate " + o.client_cert + ": " + openssl_error();
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            error = "cannot load the client key " + key + ": " + openssl_error();
            return nullptr;
        }
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    return context;
}

// The server's name for SNI and the certificate check: a name (SNI, and the certificate's
// DNS names), or an IP address (no SNI, the certificate's IP addresses).
bool set_peer_name(SSL *ssl, const std::string &host) {
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (is_ip_address(host)) return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
    return SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 &&
           X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1;
}

// ---- one connection -------------------------------------------------------------------

struct Conn {
    explicit Conn(net::io_context &context) : ioc(context) {}
    ~Conn() { close(); }
    Conn(const Conn &) = delete;
    Conn &operator=(const Conn &) = delete;

    net::io_context &ioc;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
    std::unique_ptr<ssl::context> tls_context;  // after tls: destroyed before it
    beast::flat_buffer buffer;
    std::string key;  // where it goes and how: reused only for a request with the same key

    bool is_open() const { return plain.has_value() || tls.has_value(); }
    beast::tcp_stream &lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

    void close() {
        if (is_open()) {
            error_code ec;
            lowest().socket().close(ec);
        }
        tls.reset();
        plain.reset();
        tls_context.reset();
        buffer.clear();
        buffer.shrink_to_fit();
        key.clear();
    }

    // The server closed it, or sent what nobody asked for, while it was idle.
    bool stale() {
        if (!is_open() || buffer.size() != 0) return true;
        pollfd p{lowest().socket().native_handle(), POLLIN, 0};
        return ::poll(&p, 1, 0) != 0;
    }
};

// A request ready to go: where, through which proxy, its deadlines.
struct Plan {
    HttpUrl url;
    std::optional<HttpUrl> proxy;
    std::string key;
    http::request<http::string_body> request;
    Clock::time_point start, connect_deadline, deadline;
    std::uint64_t wire_limit = 0;
    const HttpClientOptions *options = nullptr;

    const HttpUrl &peer() const { return proxy ? *proxy : url; }
};

struct Outcome {
    HttpClientResponse response;
    std::string content_encoding;
    bool done = false;              // an answer was read
    bool keep_alive = false;        // and the connection may carry the next request
    bool nothing_received = false;  // failed before any byte of an answer: may be sent again
};

bool make_plan(const HttpClientRequest &request, const HttpClientOptions &options,
               Clock::time_point start, Plan &p, std::string &error) {
    auto parsed = parse_http_url(request.url);
    if (auto *e = std::get_if<std::string>(&parsed)) {
        error = "bad URL: " + *e;
        return false;
    }
    p.url = std::move(std::get<HttpUrl>(parsed));
    if (options.proxy_from_env) {
        auto proxy = proxy_for_url(p.url, [](const char *name) { return std::getenv(name); });
        if (auto *e = std::get_if<std::string>(&proxy)) {
            error = *e;
            return false;
        }
        p.proxy = std::move(std::get<std::optional<HttpUrl>>(proxy));
    }
    p.options = &options;
    p.start = start;
    p.deadline = after(start, options.total_timeout);
    p.connect_deadline = std::min(p.deadline, after(start, options.connect_timeout));
    p.key = std::string(p.url.https ? "https://" : "http://") + url_authority(p.url);
    if (p.proxy) {
        p.key += " via " + url_authority(*p.proxy) + " " + p.proxy->user.value_or("") + ":" +
                 p.proxy->password.value_or("");
    }
    if (p.url.https)
        p.key += " ca=" + options.ca_file + " cert=" + options.client_cert +
                 " key=" + options.client_key;

    auto &req = p.request;
    req.version(11);
    http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
        req.method_string(request.method);
    } else {
        req.method(verb);
    }
    // Through a proxy, plain HTTP names the whole URL; HTTPS goes through a CONNECT tunnel.
    req.target(p.proxy && !p.url.https ? url_absolute_target(p.url) : p.url.target);
    req.set(http::field::host, url_host_header(p.url));
    req.set(http::field::user_agent, options.user_agent);
    req.set(http::field::accept, "*/*");
    if (options.decode) req.set(http::field::accept_encoding, "gzip");
    if (p.url.user) {
        req.set(http::field::authorization,
                "Basic " + basic_credentials(*p.url.user, p.url.password.value_or("")));
    }
    if (p.proxy && !p.url.https && p.proxy->user) {
        req.set(http::field::proxy_authorization,
                "Basic " + basic_credentials(*p.proxy->user, p.proxy->password.value_or("")));
    }
    for (const auto &[name, value] : request.headers) req.set(name, value);
    req.keep_alive(options.keep_alive);
    if (verb == http::verb::post || verb == http::verb::put || verb == http::verb::patch)
        req.content_length(0);
    // A compressed body is read whole, then inflated: it may be a little larger than the
    // decoded limit (incompressible data grows by a few bytes per 16 KiB block).
    p.wire_limit =
        options.decode ? options.max_body + options.max_body / 64 + 64 * 1024 : options.max_body;
    return true;
}

bool is_http_error(const error_code &ec) {
    return std::strcmp(ec.category().name(), "beast.http") == 0;
}

// The server closed or reset the connection (or never had it: a dead kept-alive one).
bool closed_by_peer(const error_code &ec) {
    return ec == http::error::end_of_stream || ec == net::error::eof ||
           ec == ssl::error::stream_truncated || ec == net::error::connection_reset ||
           ec == net::error::broken_pipe || ec == net::error::connection_aborted;
}

std::string read_error(const error_code &ec, const Plan &p, bool got_some, std::size_t received) {
    if (ec == beast::error::timeout || Clock::now() >= p.deadline) {
        return "Operation timed out after " + ms_since(p.start) + " milliseconds with " +
               std::to_string(received) + " bytes received";
    }
    if (ec == http::error::body_limit)
        return "answer larger than " + std::to_string(p.options->max_body) + " bytes";
    if (ec == http::error::header_limit) return "the answer's header is larger than 100 KiB";
    if (!got_some && (ec == http::error::end_of_stream || ec == net::error::eof ||
                      ec == ssl::error::stream_truncated))
        return "Empty reply from server";
    if (ec == http::error::partial_message || ec == ssl::error::stream_truncated)
        return "the connection closed before the end of the answer (" + std::to_string(received) +
               " bytes of body received)";
    if (is_http_error(ec)) return "malformed HTTP answer: " + ec.message();
    return "Recv failure: " + ec.message();
}

// ---- the exchange, as coroutines on the connection's io_context ---------------------

// TCP connect, the proxy's CONNECT tunnel for https://, the TLS handshake.
net::awaitable<bool> open(Conn &c, const Plan &p, std::vector<tcp::endpoint> endpoints,
                          Outcome &out) {
    error_code ec;
    const HttpUrl &peer = p.peer();
    beast::tcp_stream stream(c.ioc);
    arm(stream, p.connect_deadline);
    co_await stream.async_connect(endpoints, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
        out.response.error =
            ec == beast::error::timeout || Clock::now() >= p.connect_deadline
                ? "Connection timed out after " + ms_since(p.start) + " milliseconds"
                : "Failed to connect to " + peer.host + " port " + std::to_string(peer.port) +
                      " after " + ms_since(p.start) + " ms: " + ec.message();
        co_return false;
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    stream.socket().set_option(net::socket_base::keep_alive(true), ec);
    if (!p.url.https) {
        c.plain.emplace(std::move(stream));
        co_return true;
    }

    if (p.proxy) {
        http::request<http::empty_body> connect{http::verb::connect, url_authority(p.url), 11};
        connect.set(http::field::host, url_authority(p.url));
        connect.set(http::field::user_agent, p.options->user_agent);
        if (p.proxy->user) {
            connect.set(
                http::field::proxy_authorization,
                "Basic " + basic_credentials(*p.proxy->user, p.proxy->password.value_or("")));
        }
        co_await http::async_write(stream, connect, net::redirect_error(net::use_awaitable, ec));
        http::response_parser<http::empty_body> answer;
        answer.skip(true);  // a 2xx to CONNECT has no body: the tunnel starts after the header
        if (!ec) {
            co_await http::async_read(stream, c.buffer, answer,
                                      net::redirect_error(net::use_awaitable, ec));
        }
        if (ec) {
            out.response.error =
                "the proxy " + url_authority(*p.proxy) + ": " +
                (ec == beast::error::timeout
                     ? "CONNECT timed out after " + ms_since(p.start) + " milliseconds"
                     : "CONNECT failed: " + ec.message());
            co_return false;
        }
        if (answer.get().result_int() / 100 != 2) {
            out.response.error =
                "CONNECT tunnel failed, response " + std::to_string(answer.get().result_int());
            co_return false;
        }
        c.buffer.clear();
    }

    std::string error;
    c.tls_context = make_client_context(*p.options, error);
    if (!c.tls_context) {
        out.response.error = error;
        co_return false;
    }
    c.tls.emplace(std::move(stream), *c.tls_context);
    SSL *ssl = c.tls->native_handle();
    if (!set_peer_name(ssl, p.url.host)) {
        out.response.error =
            "cannot set the TLS server name " + p.url.host + ": " + openssl_error();
        co_return false;
    }
    arm(beast::get_lowest_layer(*c.tls), p.connect_deadline);
    co_await c.tls->async_handshake(ssl::stream_base::client,
                                    net::redirect_error(net::use_awaitable, ec));
    if (ec) {
        long verify = SSL_get_verify_result(ssl);
        if (verify != X509_V_OK) {
            out.response.error =
                std::string("SSL certificate problem: ") + X509_verify_cert_error_string(verify);
        } else if (ec == beast::error::timeout || Clock::now() >= p.connect_deadline) {
            out.response.error =
                "TLS handshake timed out after " + ms_since(p.start) + " milliseconds";
        } else {
            out.response.error =
                "TLS handshake with " + url_authority(p.url) + " failed: " + ec.message();
        }
        co_return false;
    }
    co_return true;
}

// The request written, the answer read (interim 1xx answers skipped).
template <class Stream>
net::awaitable<void> exchange(Stream &s, Conn &c, const Plan &p, Outcome &out) {
    error_code ec;
    arm(beast::get_lowest_layer(s), p.deadline);
    co_await http::async_write(s, p.request, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
        bool timeout = ec == beast::error::timeout || Clock::now() >= p.deadline;
        out.nothing_received = !timeout && closed_by_peer(ec);
        out.response.error =
            timeout ? read_error(ec, p, false, 0) : "Send failure: " + ec.message();
        co_return;
    }
    for (;;) {
        http::response_parser<http::string_body> parser;
        parser.header_limit(kHeaderLimit);
        parser.body_limit(p.wire_limit);
        if (p.request.method() == http::verb::head) parser.skip(true);
        // Beast reads as much as the buffer has room for: 512 bytes, a syscall and a timer
        // each, when it is empty (1,200 reads for a 0.6 MB exposition); 64 KiB at a time.
        c.buffer.reserve(kReadChunk);
        // The head alone first, then the body. In one eager read (http::async_read), Beast
        // 1.74 loses a Content-Length over the body limit when body bytes came with the
        // head (the parse goes on into the body and clears the error), and the body string
        // is reserved at the announced length: a /signals announcing 100 MB was read whole
        // and held. Read alone, the head fails with body_limit before any body is read.
        co_await http::async_read_header(s, c.buffer, parser,
                                         net::redirect_error(net::use_awaitable, ec));
        if (!ec && !parser.is_done()) {
            co_await http::async_read(s, c.buffer, parser,
                                      net::redirect_error(net::use_awaitable, ec));
        }
        if (ec == ssl::error::stream_truncated && parser.is_header_done() && parser.need_eof()) {
            // A body that ends with the connection, over TLS without close_notify: as
            // libcurl, taken as the end of the body.
            error_code eof;
            parser.put_eof(eof);
            if (!eof) ec = {};
        }
        if (ec) {
            bool got_some = parser.got_some();
            out.nothing_received = !got_some && closed_by_peer(ec) && Clock::now() < p.deadline;
            out.response.too_big = ec == http::error::body_limit;
            out.response.error = read_error(ec, p, got_some, parser.get().body().size());
            co_return;
        }
        auto &res = parser.get();
        unsigned status = res.result_int();
        if (status >= 100 && status < 200 && status != 101) continue;
        out.response.status = status;
        out.response.content_type = std::string(res[http::field::content_type]);
        out.content_encoding = std::string(res[http::field::content_encoding]);
        out.keep_alive = res.keep_alive() && !parser.need_eof();
        out.response.body = std::move(res.body());
        out.done = true;
        co_return;
    }
}

net::awaitable<void> transfer(Conn &c, const Plan &p, std::vector<tcp::endpoint> endpoints,
                              Outcome &out) {
    if (!c.is_open()) {
        bool opened = co_await open(c, p, std::move(endpoints), out);
        if (!opened) co_return;
        c.key = p.key;
    }
    if (c.tls) {
        co_await exchange(*c.tls, c, p, out);
    } else {
        co_await exchange(*c.plain, c, p, out);
    }
}

void spawn(net::io_context &ioc, net::awaitable<void> task, Outcome &out) {
    net::co_spawn(ioc, std::move(task), [&out](std::exception_ptr e) {
        if (!e) return;
        out.done = false;
        out.response.status = 0;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception &x) {
            out.response.error = x.what();
        } catch (...) {
            out.response.error = "unknown error";
        }
    });
}

// The answer's body decoded, or checked against the limit; a failure is no answer.
void finish(Outcome &out, const HttpClientOptions &options) {
    HttpClientResponse &r = out.response;
    std::optional<DecodeError> error;
    if (options.decode && !out.content_encoding.empty()) {
        error = decode_content(out.content_encoding, r.body, options.max_body);
    } else if (r.body.size() > options.max_body) {
        error =
            DecodeError{true, "answer larger than " + std::to_string(options.max_body) + " bytes"};
    }
    if (error) {
        r.status = 0;
        r.body.clear();
        r.too_big = error->too_big;
        r.error = error->message;
    }
}

HttpClientResponse failure(const std::string &message) {
    HttpClientResponse r;
    r.error = message;
    return r;
}

}  // namespace

struct HttpConnection::Impl {
    net::io_context ioc{1};
    Conn conn{ioc};

    HttpClientResponse perform(const HttpClientRequest &request, const HttpClientOptions &options) {
        Plan p;
        std::string error;
        if (!make_plan(request, options, Clock::now(), p, error)) return failure(error);
        bool reused = conn.is_open() && conn.key == p.key && !conn.stale();
        if (!reused) conn.close();
        for (int attempt = 0;; ++attempt) {
            Outcome out;
            std::vector<tcp::endpoint> endpoints;
            if (!conn.is_open()) {
                const HttpUrl &peer = p.peer();
                auto lookup = start_lookup(peer.host, peer.port);
                if (!wait_lookup(*lookup, p.connect_deadline, p.start, endpoints, error))
                    return failure(error);
            }
            ioc.restart();
            spawn(ioc, transfer(conn, p, std::move(endpoints), out), out);
            ioc.run();
            if (!out.done) {
                conn.close();
                // A kept-alive connection the server closed meanwhile: once more, afresh.
                if (reused && attempt == 0 && out.nothing_received && Clock::now() < p.deadline) {
                    reused = false;
                    continue;
                }
                out.response.status = 0;
                return std::move(out.response);
            }
            if (!out.keep_alive || !options.keep_alive) {
                conn.close();
            } else if (conn.buffer.size() == 0) {
                conn.buffer.shrink_to_fit();  // an idle connection holds no read buffer
            }
            finish(out, options);
            return std::move(out.response);
        }
    }
};

HttpConnection::HttpConnection() : impl_(std::make_unique<Impl>()) {}

HttpConnection::~HttpConnection() = default;

HttpClientResponse HttpConnection::perform(const HttpClientRequest &request,
                                           const HttpClientOptions &options) {
    std::string error = "unknown error";
    try {
        return impl_->perform(request, options);
    } catch (const std::exception &e) {
        error = e.what();
    } catch (...) {
    }
    // Whatever the io_context may still hold goes with it: the next request starts afresh.
    try {
        impl_ = std::make_unique<Impl>();
    } catch (...) {
    }
    return failure(error);
}

std::vector<HttpClientResponse> perform_all(const std::vector<HttpClientRequest> &requests,
                                            const HttpClientOptions &options) {
    std::vector<HttpClientResponse> responses(requests.size());
    try {
        net::io_context ioc{1};
        auto start = Clock::now();
        std::vector<Plan> plans(requests.size());
        std::vector<Outcome> outcomes(requests.size());
        std::vector<std::shared_ptr<Lookup>> lookups(requests.size());
        std::vector<std::unique_ptr<Conn>> conns(requests.size());  // before ioc is destroyed
        for (std::size_t i = 0; i < requests.size(); ++i) {
            std::string error;
            if (!make_plan(requests[i], options, start, plans[i], error)) {
                outcomes[i].response.error = error;
                continue;
            }
            lookups[i] = start_lookup(plans[i].peer().host, plans[i].peer().port);
        }
        for (std::size_t i = 0; i < requests.size(); ++i) {
            if (!lookups[i]) continue;
            std::vector<tcp::endpoint> endpoints;
            if (!wait_lookup(*lookups[i], plans[i].connect_deadline, start, endpoints,
                             outcomes[i].response.error))
                continue;
            conns[i] = std::make_unique<Conn>(ioc);
            spawn(ioc, transfer(*conns[i], plans[i], std::move(endpoints), outcomes[i]),
                  outcomes[i]);
        }
        ioc.run();
        for (std::size_t i = 0; i < requests.size(); ++i) {
            if (outcomes[i].done) {
                finish(outcomes[i], options);
            } else {
                outcomes[i].response.status = 0;
                if (outcomes[i].response.error.empty()) outcomes[i].response.error = "not finished";
            }
            responses[i] = std::move(outcomes[i].response);
        }
        conns.clear();
    } catch (const std::exception &e) {
        for (auto &r : responses) {
            if (r.status == 0 && r.error.empty()) r.error = e.what();
        }
    } catch (...) {
        for (auto &r : responses) {
            if (r.status == 0 && r.error.empty()) r.error = "unknown error";
        }
    }
    return responses;
}

}  // namespace pulse::sidecar
