// A series' samples in time order, compressed as Prometheus' TSDB compresses them (the
// Gorilla encoding of its XOR chunks: timestamps as deltas of deltas, each value XORed with
// the one before). A scrape every second costs one bit for the time, and a counter that moves
// slowly or a gauge that holds a few bits for the value, where a (time, value) pair costs 16
// bytes. The samples are held in blocks so that those older than a range go as a whole block,
// without re-encoding; docs/workers.md gives the figures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "promql/evaluator.h"

namespace pulse::sidecar {

class SampleBlocks {
  public:
    // `samples_per_block`: how many samples a block holds before the next one starts; the
    // oldest block goes once its newest sample is out of the range kept, so up to that many
    // samples more than the range are held.
    explicit SampleBlocks(std::uint32_t samples_per_block = 32);  // at most 65,535

    // A sample newer than every one held (an older or equal time is ignored).
    void append(std::int64_t t_ms, double v);
    // Drops the blocks whose samples are all older than `t_ms`.
    void drop_before(std::int64_t t_ms);
    void clear();
    // True when the next sample starts a block: the moment to drop_before() (a block can
    // only go whole, and the one before is then complete).
    bool block_starts_next() const { return count_ == 0 || open_count_ >= per_block_; }

    bool empty() const { return count_ == 0; }
    std::size_t size() const { return count_; }
    // The newest sample, decoded from nothing.
    std::optional<promql::Point> last() const;
    // The samples in [mint, maxt], oldest first (staleness markers as they were written),
    // appended to `out`.
    void read(std::int64_t mint, std::int64_t maxt, std::vector<promql::Point> &out) const;
    // Ask the CPU for what the next read() or append() touches first: a scrape or an
    // evaluation goes through thousands of series in turn, each a cache miss away, and
    // asking ahead lets the misses overlap.
    void prefetch_for_read() const {
        if (!bytes_.empty()) __builtin_prefetch(bytes_.data());
    }
    void prefetch_for_append() const {
        if (bytes_.empty()) return;
        __builtin_prefetch(bytes_.data() + bytes_.size() - 1, 1);
    }
    // Bytes of encoded samples and block headers (capacity included).
    std::size_t bytes() const { return bytes_.capacity(); }

  private:
    struct Header;
    static Header read_header(const std::uint8_t *p);
    // The header of the block at `offset`; the open block's last time, count and size are
    // kept here rather than in its header, so that an append writes to one place only.
    Header header_at(std::size_t offset) const;
    // The block's samples in [mint, maxt] written at `next`, which ends past the last one;
    // true when a sample after maxt was met (no later block can hold one in range).
    static bool decode_block(const Header &h, const std::uint8_t *payload, std::int64_t mint,
                             std::int64_t maxt, promql::Point *&next);
    void start_block(std::int64_t t_ms, std::uint64_t bits);
    void write_bits(std::uint64_t value, int n);
    void store_open_header(const Header &h);

    std::vector<std::uint8_t> bytes_;  // blocks: a header, then the encoded samples
    std::size_t open_ = 0;             // offset of the last block's header
    std::uint32_t per_block_;
    std::uint32_t count_ = 0;        // samples in every block
    std::uint32_t open_count_ = 0;   // samples in the last block
    std::int64_t open_first_t_ = 0;  // the time of its first
    int free_bits_ = 0;              // unused low bits of the last byte
    // The encoder's state after the newest sample.
    std::int64_t last_t_ = 0;
    std::int64_t last_delta_ = 0;
    std::uint64_t last_bits_ = 0;
    std::uint8_t leading_ = 0xff;  // 0xff: no XOR window yet in this block
    std::uint8_t trailing_ = 0;
};

}  // namespace pulse::sidecar
