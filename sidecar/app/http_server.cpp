#include "http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "connection_budget.h"
#include "http_request_reading.h"

namespace pulse::sidecar {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// After a response that closes the connection, what the client still sends is read and
// dropped for this long (or this much), so that it gets the response instead of a reset.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = 1 << 20;
// How much an idle connection reads at once while it waits for its next request.
constexpr std::size_t kIdleRead = 1024;
// Every few seconds, when many connections have closed since the last time, the memory
// they used goes back to the system: 2,000 idle clients that went away leave no high mark.
constexpr std::chrono::seconds kTrimPeriod{5};
constexpr std::size_t kTrimAfterClosed = 64;
// Socket states made at start beyond --max-connections: the connections shed or refused
// while over the cap, and the listener.
constexpr std::size_t kSpareSocketStates = 64;

// TLS records (RFC 8446 section 5.1): a 5-byte header, then at most 2^14 bytes of
// plaintext; a ClientHello is sent in plaintext records, so a longer one is no client's.
constexpr std::size_t kRecordHeaderBytes = 5;
constexpr unsigned char kHandshakeRecord = 22;
constexpr std::size_t kMaxRecordBytes = 16384;

std::chrono::steady_clock::duration seconds(double s) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(s));
}

tcp::endpoint parse_listen(net::io_context &ioc, const std::string &listen) {
    std::string host = "0.0.0.0", port = listen;
    if (std::size_t colon = listen.rfind(':'); colon != std::string::npos) {
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
    }
    error_code ec;
    net::ip::address address = net::ip::make_address(host, ec);
    if (ec) {  // a name: its first address
        tcp::resolver resolver(ioc);
        auto results = resolver.resolve(host, port, ec);
        if (ec || results.empty()) {
            throw std::runtime_error("cannot listen on " + listen + ": cannot resolve " + host +
                                     (ec ? ": " + ec.message() : std::string()));
        }
        return *results.begin();
    }
    char *end = nullptr;
    unsigned long number = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || number > 65535) {
        throw std::runtime_error("cannot listen on " + listen + ": " + port +
                                 " is not a port number");
    }
    return {address, static_cast<unsigned short>(number)};
}

class Connection;
using Budget = ConnectionBudget<std::weak_ptr<Connection>>;

// What every connection of one server shares.
struct ServerState {
    HttpHandler handler;
    std::function<bool(const HttpRequest &)> answers_at_once;
    HttpLimits limits;
    Budget budget;
    net::thread_pool handler_pool;
    std::atomic<std::size_t> shed{0}, refused{0}, closed_since_trim{0};

    ServerState(HttpHandler h, std::function<bool(const HttpRequest &)> at_once, HttpLimits l,
                int handler_threads)
        : handler(std::move(h)),
          answers_at_once(std::move(at_once)),
          limits(l),
          budget(l.max_connections),
          handler_pool(static_cast<std::size_t>(handler_threads)) {}

    // Never lets an exception reach the I/O loop: a failing handler is a 500.
    HttpResponse answer(const HttpRequest &request) const {
        try {
            return handler(request);
        } catch (const std::exception &e) {
            return {500,
                    "text/plain; charset=utf-8",
                    std::string("internal error: ") + e.what() + "\n",
                    {}};
        } catch (...) {
            return {500, "text/plain; charset=utf-8", "internal error\n", {}};
        }
    }

    void closed() { ++closed_since_trim; }

    void trim_if_many_closed() {
        if (closed_since_trim >= kTrimAfterClosed) {
            closed_since_trim = 0;
            malloc_trim(0);
        }
    }
};

// One connection, plain or TLS, on its own strand: every step has a deadline, and while it
// waits for a request it is a candidate for shedding. A TLS connection makes its TLS state
// (about 130 KiB with OpenSSL's and Asio's record buffers) only once the client's first
// record (its ClientHello) has arrived whole, read into a buffer of its size: a client that
// says nothing, or drips its greeting a byte at a time, costs a socket and that buffer.
class Connection : public std::enable_shared_from_this<Connection> {
  public:
    Connection(ServerState &state, tcp::socket socket, std::string remote,
               net::ssl::context *tls_context)
        : executor_(socket.get_executor()),
          plain_(std::move(socket)),
          greeting_deadline_(executor_),
          tls_context_(tls_context),
          state_(state),
          remote_(std::move(remote)) {}

    ~Connection() {
        state_.budget.release(ticket_);
        state_.closed();
    }

    void start() {
        net::dispatch(executor_, [self = shared_from_this()] { self->begin(); });
    }

    // Closes the connection to make room for a new one; safe from any thread.
    void shed() {
        net::post(executor_, [self = shared_from_this()] { self->close(); });
    }

  private:
    beast::tcp_stream &tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : plain_; }

    // Runs an operation on the connection's stream, whichever it is.
    template <class Operation>
    void on_stream(Operation &&operation) {
        if (tls_) {
            operation(*tls_);
        } else {
            operation(plain_);
        }
    }

    void close() {
        greeting_deadline_.cancel();
        error_code ignored;
        tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
        tcp().close();
    }

    void begin() {
        if (!state_.budget.waiting(ticket_, weak_from_this())) return close();
        if (tls_context_ == nullptr) return read_head();
        // The handshake's deadline starts now, while the client has not said anything.
        greeting_deadline_.expires_after(seconds(state_.limits.handshake_timeout));
        greeting_deadline_.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec) self->close();
        });
        greeting_.resize(kRecordHeaderBytes);
        net::async_read(plain_.socket(), net::buffer(greeting_),
                        [self = shared_from_this()](error_code ec, std::size_t) {
                            self->on_greeting_header(ec);
                        });
    }

    // A TLS record header: type 22 (handshake), two version bytes, the length. Anything
    // else is not a TLS client (a plain HTTP request on the TLS port, a probe), and the
    // handshake would fail on it anyway.
    void on_greeting_header(error_code ec) {
        if (ec || greeting_[0] != kHandshakeRecord) return close();
        const std::size_t length = std::size_t{greeting_[3]} << 8 | greeting_[4];
        if (length == 0 || length > kMaxRecordBytes) return close();
        greeting_.resize(kRecordHeaderBytes + length);
        net::async_read(
            plain_.socket(), net::buffer(greeting_.data() + kRecordHeaderBytes, length),
            [self = shared_from_this()](error_code ec, std::size_t) { self->greeted(ec); });
    }

    void greeted(error_code ec) {
        auto left = greeting_deadline_.expiry() - std::chrono::steady_clock::now();
        greeting_deadline_.cancel();
        if (ec || left <= std::chrono::steady_clock::duration::zero()) return close();
        tls_.emplace(std::move(plain_), *tls_context_);
        tcp().expires_after(left);
        tls_->async_handshake(
            net::ssl::stream_base::server, net::buffer(greeting_),
            [self = shared_from_this()](error_code ec, std::size_t) { self->on_handshake(ec); });
    }

    void on_handshake(error_code ec) {
        greeting_ = {};  // read by OpenSSL by now
        // A client that stopped mid-handshake, a certificate the CA did not sign, a probe
        // that only checks the port: nothing to answer.
        if (ec) return close();
        client_subject_ = verified_client_subject(tls_->native_handle());
        read_head();
    }

    // The first request (and any request already buffered) must arrive within the header
    // deadline; a keep-alive connection may idle longer before its next request starts.
    void await_request() {
        if (!state_.budget.waiting(ticket_, weak_from_this())) return close();
        if (buffer_.size() > 0) return read_head();
        tcp().expires_after(seconds(state_.limits.idle_timeout));
        on_stream([&](auto &stream) {
            stream.async_read_some(buffer_.prepare(kIdleRead),
                                   [self = shared_from_this()](error_code ec, std::size_t n) {
                                       if (ec) return self->close();
                                       self->buffer_.commit(n);
                                       self->read_head();
                                   });
        });
    }

    void read_head() {
        parser_.emplace();
        limit_request_parser(*parser_, state_.limits);
        tcp().expires_after(seconds(state_.limits.header_timeout));
        on_stream([&](auto &stream) {
            http::async_read_header(
                stream, buffer_, *parser_,
                [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
        });
    }

    void on_head(error_code ec) {
        if (ec == http::error::header_limit) {
            // The parser gives up on either part at the same size: which one it was stuck in
            // tells which limit was broken.
            bool have_line = !parser_->get().target().empty();
            return reject(have_line ? 431 : 414, have_line ? "request header fields too large\n"
                                                           : "request line too long\n");
        }
        if (ec == http::error::body_limit) return reject(413, "request body too large\n");
        if (ec) return fail(ec);
        if (!state_.budget.busy(ticket_)) return close();

        auto [line, fields] = head_sizes(parser_->get());
        if (int status = status_for_head(line, fields, state_.limits)) {
            return reject(status, status == 414 ? "request line too long\n"
                                                : "request header fields too large\n");
        }
        if (parser_->is_done()) return dispatch_request();
        tcp().expires_after(seconds(state_.limits.body_timeout));
        on_stream([&](auto &stream) {
            http::async_read(stream, buffer_, *parser_,
                             [self = shared_from_this()](error_code ec, std::size_t) {
                                 if (ec == http::error::body_limit) {
                                     return self->reject(413, "request body too large\n");
                                 }
                                 if (ec) return self->fail(ec);
                                 self->dispatch_request();
                             });
        });
    }

    // A read that ended without a request: a malformed one is answered, the rest (the
    // client left, a deadline passed, the connection was shed) just close.
    void fail(error_code ec) {
        if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message &&
            ec != http::error::need_more) {
            return reject(400, "malformed request: " + ec.message() + "\n");
        }
        close();
    }

    void dispatch_request() {
        auto &message = parser_->get();
        HttpRequest request = request_from(message);
        request.remote = remote_;
        request.client_subject = client_subject_;
        head_only_ = message.method() == http::verb::head;
        version_ = message.version();
        keep_alive_ = message.keep_alive();
        parser_.reset();

        if (state_.answers_at_once && state_.answers_at_once(request)) {
            return respond(state_.answer(request));
        }
        net::post(state_.handler_pool, [self = shared_from_this(), request = std::move(request)] {
            HttpResponse response = self->state_.answer(request);
            net::post(self->executor_, [self, response = std::move(response)]() mutable {
                self->respond(std::move(response));
            });
        });
    }

    void respond(HttpResponse r, bool close_after = false) {
        response_ = {};
        response_.version(version_);
        response_.result(static_cast<unsigned>(r.status));
        response_.set(http::field::content_type, r.content_type);
        response_.set(http::field::cache_control, "no-store");
        for (const auto &[name, value] : r.headers) response_.set(name, value);
        if (head_only_) {
            response_.content_length(r.body.size());
        } else {
            response_.body() = std::move(r.body);
            response_.prepare_payload();
        }
        bool again = keep_alive_ && !close_after;
        response_.keep_alive(again);
        tcp().expires_after(seconds(state_.limits.write_timeout));
        on_stream([&](auto &stream) {
            http::async_write(stream, response_,
                              [self = shared_from_this(), again](error_code ec, std::size_t) {
                                  if (ec) return self->close();
                                  if (again) return self->await_request();
                                  self->finish();
                              });
        });
    }

    // A request that broke a limit or the syntax: its status, then the connection closes.
    void reject(int status, std::string message) {
        state_.budget.busy(ticket_);
        if (parser_ && parser_->get().version() == 10) version_ = 10;
        head_only_ = false;
        keep_alive_ = false;
        respond({status, "text/plain; charset=utf-8", std::move(message), {}}, true);
    }

    // Closing after a response: what the client still sends is read and dropped for a
    // moment, so that its unread bytes do not turn the close into a reset that destroys the
    // response before the client reads it.
    void finish() {
        tcp().expires_after(kLingerTime);
        if (tls_) {
            tls_->async_shutdown([self = shared_from_this()](error_code) { self->close(); });
            return;
        }
        error_code ignored;
        plain_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        linger();
    }

    void linger() {
        buffer_.consume(buffer_.size());
        plain_.async_read_some(buffer_.prepare(16 * 1024),
                               [self = shared_from_this()](error_code ec, std::size_t n) {
                                   self->lingered_ += n;
                                   if (ec || self->lingered_ > kLingerBytes) return self->close();
                                   self->linger();
                               });
    }

    const net::any_io_executor executor_;  // the connection's strand
    beast::tcp_stream plain_;              // the connection until TLS starts (then moved into tls_)
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    net::steady_timer greeting_deadline_;
    net::ssl::context *const tls_context_;  // null: plain HTTP
    ServerState &state_;
    const std::string remote_;
    Budget::Ticket ticket_;
    std::vector<unsigned char> greeting_;  // the client's first TLS record, until the handshake
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
    std::optional<std::string> client_subject_;
    unsigned version_ = 11;
    bool head_only_ = false;
    bool keep_alive_ = false;
    std::size_t lingered_ = 0;
};

}  // namespace

struct HttpServer::Impl {
    // Declared in the order they must outlive each other: connections left in the I/O
    // context's queues are destroyed with it and still reach the state and the TLS context.
    ServerState state;
    std::optional<net::ssl::context> tls;
    net::io_context ioc;
    tcp::acceptor acceptor;
    net::steady_timer accept_retry;
    net::steady_timer trim_timer;
    std::vector<std::thread> threads;
    std::string listen;

    Impl(HttpServerOptions &options, HttpHandler handler)
        : state(std::move(handler), std::move(options.answers_at_once), options.limits,
                std::max(1, options.handler_threads)),
          ioc(std::max(1, options.io_threads)),
          acceptor(net::make_strand(ioc)),
          accept_retry(acceptor.get_executor()),
          trim_timer(ioc),
          listen(options.listen) {}

    // The I/O context keeps a small state for every socket it has seen, for reuse, never
    // freed while it runs. Made during a burst of connections, those states would sit
    // between the connections' buffers and keep every page of them resident after the
    // burst; made here, all at once, they are one block, and what a burst takes goes back
    // to the system when it ends. (A socket opened and closed leaves its state for reuse.)
    void reserve_socket_states() {
        std::vector<tcp::socket> sockets;
        sockets.reserve(state.limits.max_connections + kSpareSocketStates);
        error_code ec;
        while (sockets.size() < state.limits.max_connections + kSpareSocketStates) {
            sockets.emplace_back(ioc);
            sockets.back().open(tcp::v4(), ec);
            if (ec) break;  // out of descriptors: fewer states made now, the rest on demand
        }
    }

    void schedule_trim() {
        trim_timer.expires_after(kTrimPeriod);
        trim_timer.async_wait([this](error_code ec) {
            if (ec) return;
            state.trim_if_many_closed();
            schedule_trim();
        });
    }

    void accept() {
        acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
            if (ec == net::error::operation_aborted) return;  // stopping
            if (ec) {
                // Out of file descriptors, say: wait a moment instead of spinning or stopping.
                std::cerr << "pulse-sidecar: http: accept on " + listen + ": " + ec.message() +
                                 "\n";
                accept_retry.expires_after(std::chrono::milliseconds(100));
                accept_retry.async_wait([this](error_code wait) {
                    if (!wait) accept();
                });
                return;
            }
            admit(std::move(socket));
            accept();
        });
    }

    void admit(tcp::socket socket) {
        Budget::Admission admission = state.budget.admit();
        if (admission.shed) {
            ++state.shed;
            if (auto victim = admission.shed->lock()) victim->shed();
        }
        error_code ec;
        if (!admission.admitted) {
            ++state.refused;
            socket.close(ec);
            return;
        }
        socket.set_option(tcp::no_delay(true), ec);  // a response is never held back
        auto endpoint = socket.remote_endpoint(ec);
        std::string remote = ec ? std::string() : endpoint.address().to_string();
        auto connection = std::make_shared<Connection>(state, std::move(socket), std::move(remote),
                                                       tls ? &*tls : nullptr);
        connection->start();
    }
};

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(options, std::move(handler))) {
    if (options.tls) impl_->tls.emplace(make_server_tls_context(*options.tls));
    tcp::endpoint endpoint = parse_listen(impl_->ioc, options.listen);
    error_code ec;
    auto &acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + options.listen + ": " + ec.message());
    impl_->reserve_socket_states();
    impl_->accept();
    impl_->schedule_trim();
    int threads = std::max(1, options.io_threads);
    for (int i = 0; i < threads; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
}

HttpServer::~HttpServer() {
    // Stopped, the I/O context runs nothing more: the connections still queued in it are
    // destroyed with it (Impl's member order), closing their sockets.
    impl_->ioc.stop();
    for (auto &t : impl_->threads) t.join();
    impl_->state.handler_pool.join();  // a running handler finishes; its answer is dropped
}

int HttpServer::port() const {
    error_code ec;
    auto endpoint = impl_->acceptor.local_endpoint(ec);
    return ec ? 0 : endpoint.port();
}

HttpServerStats HttpServer::stats() const {
    HttpServerStats s;
    s.open_connections = impl_->state.budget.open();
    s.waiting_connections = impl_->state.budget.waiting_count();
    s.shed_connections = impl_->state.shed;
    s.refused_connections = impl_->state.refused;
    return s;
}

}  // namespace pulse::sidecar
