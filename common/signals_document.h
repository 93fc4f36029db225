// The field names of the /signals JSON document: pulse-sidecar run writes it, the adapter
// (and any reader) reads it back (docs/architecture.md, "The /signals document";
// docs/sidecar.md).
//
//   { timestamp, timestamp_unix, age_seconds, stale, stale_after_seconds, draining,
//     window_seconds, samples, last_error,
//     pod: {SIGNAL: value|null, ...}, servers: {SERVER: {SIGNAL: value|null, ...}},
//     with --config:
//     sources: {SOURCE: {url, up, last_scrape, last_scrape_unix, duration_seconds, samples,
//                        last_error}},
//     config_signals: {SIGNAL: {timestamp, timestamp_unix, age_seconds, stale,
//                               stale_after_seconds, window_seconds,
//                               series: [{labels, value}], absent_reason}} }
#pragma once

#include <string_view>

namespace pulse::common::signals_field {

// The document, and each of config_signals.
inline constexpr std::string_view timestamp = "timestamp";            // RFC 3339, or null
inline constexpr std::string_view timestamp_unix = "timestamp_unix";  // seconds, or null
inline constexpr std::string_view age_seconds = "age_seconds";
inline constexpr std::string_view stale = "stale";  // true: do not use the numbers
inline constexpr std::string_view window_seconds = "window_seconds";
// The age past which the writer calls the numbers stale (a reader with another clock can
// hold it to that).
inline constexpr std::string_view stale_after_seconds = "stale_after_seconds";

// The document only.
inline constexpr std::string_view draining = "draining";
inline constexpr std::string_view samples = "samples";
inline constexpr std::string_view last_error = "last_error";
inline constexpr std::string_view pod = "pod";
inline constexpr std::string_view servers = "servers";
inline constexpr std::string_view sources = "sources";
inline constexpr std::string_view config_signals = "config_signals";

// Each of sources (with samples and last_error).
inline constexpr std::string_view url = "url";
inline constexpr std::string_view up = "up";
inline constexpr std::string_view last_scrape = "last_scrape";
inline constexpr std::string_view last_scrape_unix = "last_scrape_unix";
inline constexpr std::string_view duration_seconds = "duration_seconds";

// Each of config_signals (with the fields of the document's first group).
inline constexpr std::string_view series = "series";
inline constexpr std::string_view labels = "labels";
inline constexpr std::string_view value = "value";
inline constexpr std::string_view absent_reason = "absent_reason";

}  // namespace pulse::common::signals_field
