// Fetches the module's exposition over HTTP (http_client.h): one connection kept alive
// between scrapes, bounded connect and total timeouts, gzip answers accepted.
#pragma once

#include <memory>
#include <string>

namespace pulse::sidecar {

struct ScrapeResult {
    bool ok = false;
    long status = 0;
    std::string body;
    std::string content_type;
    std::string error;  // why it failed, one line
    double seconds = 0;
};

// Prometheus 2.42's Accept header: OpenMetrics when the target offers it, else 0.0.4.
inline constexpr const char *kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

struct ScrapeOptions {
    double connect_timeout = 1;
    double total_timeout = 1;
    std::string accept = "text/plain;version=0.0.4;q=1,*/*;q=0.1";
    std::string bearer_token_file;  // read again for every scrape, so rotated tokens work
    std::string tls_ca;             // the CA an https:// target's certificate must chain to
};

class Scraper {
  public:
    Scraper(std::string url, double connect_timeout, double total_timeout);
    Scraper(std::string url, ScrapeOptions options);
    ~Scraper();
    Scraper(const Scraper &) = delete;
    Scraper &operator=(const Scraper &) = delete;

    ScrapeResult scrape();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// One plain HTTP request, for `pulse-sidecar drain` and tests: returns the status (0 on
// a transport error, with `error` set) and the body.
long http_request(const std::string &method, const std::string &url, double timeout,
                  std::string &body, std::string &error);

}  // namespace pulse::sidecar
