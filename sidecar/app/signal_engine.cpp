#include "signal_engine.h"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <malloc.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "clocks.h"
#include "exposition_parser.h"
#include "one_line.h"
#include "own_metrics.h"
#include "scrape_clock.h"
#include "scraper.h"

namespace pulse::sidecar {

namespace {

std::vector<ScrapeTarget> targets_of(const SidecarConfig &config) {
    std::vector<ScrapeTarget> out;
    for (const SourceConfig &s : config.sources) {
        out.push_back({s.name, instance_of(s.url),
                       static_cast<std::int64_t>(std::llround(s.interval * 1000))});
    }
    return out;
}

constexpr std::int64_t kPruneEveryMs = 10'000;

}  // namespace

struct SignalEngine::Metrics {
    prometheus::Registry &registry;  // first: the families below register in it
    prometheus::Family<prometheus::Gauge> &up = add_family<prometheus::Gauge>(
        registry, "pulse_source_up", "1 when the last scrape of the source was good, else 0.");
    prometheus::Family<prometheus::Gauge> &duration =
        add_family<prometheus::Gauge>(registry, "pulse_source_scrape_duration_seconds",
                                      "Duration of the last scrape of the source.");
    prometheus::Family<prometheus::Gauge> &samples = add_family<prometheus::Gauge>(
        registry, "pulse_source_samples_scraped", "Samples in the last good scrape of the source.");
    prometheus::Family<prometheus::Counter> &errors = add_family<prometheus::Counter>(
        registry, "pulse_source_scrape_errors_total", "Failed scrapes of the source, by reason.");
    prometheus::Family<prometheus::Gauge> &evaluation = add_family<prometheus::Gauge>(
        registry, "pulse_signals_evaluation_seconds",
        "Duration of the last evaluation of every configured signal.");

    Metrics(prometheus::Registry &r, const SidecarConfig &config) : registry(r) {
        for (const SourceConfig &s : config.sources) {
            for (const char *reason : {"transport", "http_status", "parse"})
                errors.Add({{"source", s.name}, {"reason", reason}});
        }
    }
};

SignalEngine::SignalEngine(SidecarConfig config, prometheus::Registry &registry,
                           std::string log_prefix)
    : config_(std::move(config)),
      log_prefix_(std::move(log_prefix)),
      metrics_(std::make_unique<Metrics>(registry, config_)),
      evaluator_(config_, config_.sources.size()) {
    window_ = std::make_unique<SeriesWindow>(targets_of(config_), evaluator_.selectors());
    for (const SourceConfig &s : config_.sources) {
        SourceState state;
        state.name = s.name;
        state.url = s.url;
        sources_.push_back(state);
    }
    auto first = std::make_shared<EngineSnapshot>();
    first->values.resize(config_.signals.size());
    for (auto &v : first->values) v.absent_reason = "no source scraped yet";
    first->sources = sources_;
    snapshot_ = first;
}

SignalEngine::~SignalEngine() {
    stop();
}

void SignalEngine::start() {
    for (std::size_t i = 0; i < config_.sources.size(); ++i)
        threads_.emplace_back([this, i] { scrape_loop(i); });
}

void SignalEngine::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    for (auto &t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

std::shared_ptr<const EngineSnapshot> SignalEngine::snapshot() {
    std::lock_guard lock(mutex_);
    // Evaluated when read, at most once per scrape: the readers (Prometheus, the HPA's
    // sync through the adapter) come every 15 s or so, the scrapes every second, and an
    // evaluation at the last scrape's time gives the answer an evaluation right after it
    // would have given.
    if (scrapes_ != evaluated_scrapes_) {
        evaluate_locked(last_t_ms_);
        evaluated_scrapes_ = scrapes_;
        // Its intermediate vectors (megabytes over 10,000 series) are freed: give their pages
        // back rather than keep them as the high mark until the next read.
        malloc_trim(0);
    }
    return snapshot_;
}

std::size_t SignalEngine::series_count() const {
    std::lock_guard lock(mutex_);
    return window_->series_count();
}

std::size_t SignalEngine::sample_count() const {
    std::lock_guard lock(mutex_);
    return window_->sample_count();
}

void SignalEngine::scrape_loop(std::size_t index) {
    const SourceConfig &source = config_.sources[index];
    ScrapeOptions options;
    options.total_timeout = source.timeout > 0 ? source.timeout : source.interval;
    options.connect_timeout = std::min(options.total_timeout, 1.0);
    options.accept = kPrometheusAccept;
    options.bearer_token_file = source.bearer_token_file;
    options.tls_ca = source.tls_ca;
    Scraper scraper(source.url, options);
    auto period = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(source.interval));
    auto next = std::chrono::steady_clock::now();
    ScrapeClock clock(std::llround(source.interval * 1000));
    for (;;) {
        const std::int64_t start_ms = std::llround(unix_now() * 1000);
        ScrapeResult r = scraper.scrape();
        std::string error = r.error, reason = r.status != 0 ? "http_status" : "transport";
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            double unix = unix_now();
            // The scrape's start, on the schedule (scrape_clock.h); the signals are evaluated
            // at the newest scrape of any source.
            const std::int64_t t_ms = clock.stamp(start_ms);
            last_t_ms_ = std::max(last_t_ms_, t_ms);
            SourceState &state = sources_[index];
            state.scraped = true;
            state.last_scrape_unix = unix;
            state.duration_seconds = r.seconds;
            metrics_->duration.Add({{"source", source.name}}).Set(r.seconds);
            // Parsed straight into the window, under the lock: a reader waits a few
            // milliseconds at most, and no exposition of the whole text is ever built.
            std::optional<std::size_t> ingested;
            if (r.ok) {
                auto result = window_->ingest_text(index, r.body,
                                                   format_from_content_type(r.content_type), t_ms);
                if (auto *e = std::get_if<ParseError>(&result)) {
                    error = "scrape " + source.url + ": malformed exposition at line " +
                            std::to_string(e->line) + ": " + e->message;
                    reason = "parse";
                } else {
                    ingested = std::get<std::size_t>(result);
                }
            }
            if (ingested) {
                const std::size_t n = *ingested;
                state.samples = n;
                state.up = true;
                state.last_error.clear();
                metrics_->samples.Add({{"source", source.name}}).Set(static_cast<double>(n));
            } else {
                window_->fail(index, t_ms);
                if (state.last_error != one_line(error))
                    std::cerr << log_prefix_ << "source " << source.name << ": " << one_line(error)
                              << "\n";
                state.up = false;
                state.last_error = one_line(error);
                metrics_->errors.Add({{"source", source.name}, {"reason", reason}}).Increment();
            }
            metrics_->up.Add({{"source", source.name}}).Set(state.up ? 1 : 0);
            ++scrapes_;
            if (t_ms - last_prune_ms_ >= kPruneEveryMs) {
                window_->prune(t_ms);
                last_prune_ms_ = t_ms;
            }
        }
        next += period;
        auto now = std::chrono::steady_clock::now();
        if (next < now) next = now;  // a slow scrape: no burst to catch up
        std::unique_lock lock(mutex_);
        if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
}

void SignalEngine::evaluate_locked(std::int64_t t_ms) {
    std::vector<SourceStatus> status;
    for (const SourceState &s : sources_) status.push_back({s.scraped, s.up, s.last_error});
    auto start = std::chrono::steady_clock::now();
    auto next = std::make_shared<EngineSnapshot>();
    next->values = evaluator_.evaluate(*window_, status, t_ms);
    metrics_->evaluation.Add({}).Set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    next->evaluated_unix = static_cast<double>(t_ms) / 1000;
    next->sources = sources_;
    snapshot_ = std::move(next);
}

std::vector<prometheus::MetricFamily> SignalEngine::collect() {
    std::shared_ptr<const EngineSnapshot> now = snapshot();
    std::vector<prometheus::MetricFamily> out;
    out.reserve(config_.signals.size());
    for (std::size_t i = 0; i < config_.signals.size(); ++i) {
        const SignalConfig &signal = config_.signals[i];
        prometheus::MetricFamily &family = out.emplace_back();
        family.name = signal.name;
        family.help = signal.help.empty() ? "pulse signal: " + signal.expr : signal.help;
        family.type = prometheus::MetricType::Gauge;
        if (i >= now->values.size()) continue;
        // An absent signal has no series: never its last value.
        for (const SignalSeries &series : now->values[i].series) {
            prometheus::ClientMetric metric;
            bool servable = true;
            for (const auto &[name, value] : series.labels) {
                // A label name the exposition format reserves ("__x") is not served.
                if (!prometheus::CheckLabelName(name)) servable = false;
                metric.label.push_back({name, value});
            }
            if (!servable) continue;
            metric.gauge.value = series.value;
            family.metric.push_back(std::move(metric));
        }
    }
    return out;
}

}  // namespace pulse::sidecar
