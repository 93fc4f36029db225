// pulse-sidecar's HTTP/1.1 client, on Boost.Beast and Asio with OpenSSL (the libraries the
// HTTP server already uses) and zlib, instead of libcurl and the 27 libraries Debian's
// libcurl loads (docs/architecture.md). The scraper and the adapter's Kubernetes client
// are built on it. Nothing is thrown: every failure is a one-line error in the response.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pulse::sidecar {

struct HttpClientOptions {
    // Seconds. connect: name lookup, TCP connect, proxy tunnel and TLS handshake (<= 0: only
    // the total); total: the whole request, connect included (<= 0: no limit).
    double connect_timeout = 1;
    double total_timeout = 1;
    std::size_t max_body = 64 * 1024 * 1024;  // decoded; more is an error (too_big)
    bool decode = false;                      // Accept-Encoding: gzip, and the answer decoded
    bool proxy_from_env = true;               // http_proxy, https_proxy, ... as libcurl reads them
    bool keep_alive = true;                   // false: Connection: close
    // https:// only: the CAs the server's certificate must chain to (empty: the system's
    // trust store), and a client certificate and key (PEM; the key may be in the cert file).
    std::string ca_file;
    std::string client_cert, client_key;
    std::string user_agent = "pulse-sidecar";
};

struct HttpClientRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // Accept, Authorization, ...
};

struct HttpClientResponse {
    long status = 0;  // 0: no answer, see error
    std::string body;
    std::string content_type;
    std::string error;     // why there is no answer, one line
    bool too_big = false;  // the body passed max_body (then status is 0)
};

// Requests one after the other over one connection: kept open while the server keeps it
// open and the requests go to the same place with the same TLS settings, opened again when
// the server closed it (a request that finds it closed is sent again once, on a new one).
// One thread at a time.
class HttpConnection {
  public:
    HttpConnection();
    ~HttpConnection();
    HttpConnection(const HttpConnection &) = delete;
    HttpConnection &operator=(const HttpConnection &) = delete;

    HttpClientResponse perform(const HttpClientRequest &request, const HttpClientOptions &options);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Every request at once, in this thread, each on a connection of its own closed after it,
// each with the options' timeouts from the call; the responses in the requests' order.
std::vector<HttpClientResponse> perform_all(const std::vector<HttpClientRequest> &requests,
                                            const HttpClientOptions &options);

}  // namespace pulse::sidecar
