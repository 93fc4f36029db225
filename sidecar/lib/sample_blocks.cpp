#include "sample_blocks.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace pulse::sidecar {

// Each block starts with its header, byte-aligned, then its samples after the first as bits:
// the time as the change of the delta ("0", or "10", "110", "1110", "1111" and 14, 17, 20 or
// 64 bits), the value as its XOR with the one before ("0" when equal; else "1", then "0" and
// the bits inside the last window of meaningful bits, or "1", 5 bits of leading zeros, 6 of
// length and the meaningful bits), as in Prometheus' tsdb/chunkenc/xor.go.
struct SampleBlocks::Header {
    std::int64_t first_t = 0;
    std::uint64_t first_bits = 0;
    std::int64_t last_t = 0;
    std::uint32_t count = 0;          // samples in the block, the first included
    std::uint32_t payload_bytes = 0;  // after the header
};

namespace {

// first_t (8), first_bits (8), last_t - first_t (4), count (2), payload_bytes (2).
constexpr std::size_t kHeaderBytes = 24;
// A block closes before its span or its payload would outgrow its header's fields.
constexpr std::int64_t kMaxSpanMs = 0xffffffffll;
constexpr std::size_t kMaxPayload = 0xffff - 32;  // room for one more sample of up to 19 bytes

struct DodClass {
    std::uint64_t prefix;
    int prefix_bits;
    int value_bits;
};
constexpr DodClass kDodClasses[] = {{0b10, 2, 14}, {0b110, 3, 17}, {0b1110, 4, 20}};

bool fits_signed(std::int64_t v, int bits) {
    const std::int64_t half = std::int64_t{1} << (bits - 1);
    return v >= -half && v < half;
}

// Reads the bits through a 64-bit window refilled a byte at a time, not bit by bit.
class BitReader {
  public:
    BitReader(const std::uint8_t *p, std::size_t bytes) : p_(p), bytes_(bytes) {}
    // n in [1, 64]; past the end of the block it reads zeros (a truncated block).
    std::uint64_t read(int n) {
        if (n > 56) {
            const std::uint64_t high = read(32);
            return (high << (n - 32)) | read(n - 32);
        }
        if (n > have_) refill();
        const std::uint64_t v = buf_ >> (64 - n);
        buf_ <<= n;
        have_ -= n;
        return v;
    }
    bool bit() { return read(1) != 0; }

  private:
    void refill() {
        if (next_ + 8 <= bytes_) {
            // Eight bytes at once, big-endian; as many whole bytes as fit are taken.
            std::uint64_t word;
            std::memcpy(&word, p_ + next_, 8);
            if constexpr (std::endian::native == std::endian::little)
                word = __builtin_bswap64(word);
            const int take = (64 - have_) & ~7;
            const int kept = have_ + take;  // 57 to 64 bits
            std::uint64_t fresh = word >> have_;
            if (kept < 64) fresh &= ~std::uint64_t{0} << (64 - kept);
            buf_ |= fresh;
            have_ = kept;
            next_ += static_cast<std::size_t>(take / 8);
            return;
        }
        while (have_ <= 56) {
            if (next_ >= bytes_) {
                have_ = 64;  // the rest reads as zeros
                return;
            }
            buf_ |= static_cast<std::uint64_t>(p_[next_++]) << (56 - have_);
            have_ += 8;
        }
    }

    const std::uint8_t *p_;
    std::size_t bytes_;
    std::size_t next_ = 0;
    std::uint64_t buf_ = 0;  // the next bits, most significant first
    int have_ = 0;
};

std::int64_t sign_extend(std::uint64_t v, int bits) {
    if (bits == 64) return static_cast<std::int64_t>(v);
    if (v >= (std::uint64_t{1} << (bits - 1)))
        return static_cast<std::int64_t>(v) - (std::int64_t{1} << bits);
    return static_cast<std::int64_t>(v);
}

}  // namespace

SampleBlocks::SampleBlocks(std::uint32_t samples_per_block)
    : per_block_(std::clamp<std::uint32_t>(samples_per_block, 2, 0xffff)) {}

SampleBlocks::Header SampleBlocks::read_header(const std::uint8_t *p) {
    Header h;
    std::uint32_t span = 0;
    std::uint16_t count = 0, payload = 0;
    std::memcpy(&h.first_t, p, 8);
    std::memcpy(&h.first_bits, p + 8, 8);
    std::memcpy(&span, p + 16, 4);
    std::memcpy(&count, p + 20, 2);
    std::memcpy(&payload, p + 22, 2);
    h.last_t = h.first_t + span;
    h.count = count;
    h.payload_bytes = payload;
    return h;
}

void SampleBlocks::store_open_header(const Header &h) {
    std::uint8_t *p = bytes_.data() + open_;
    const auto span = static_cast<std::uint32_t>(h.last_t - h.first_t);
    const auto count = static_cast<std::uint16_t>(h.count);
    const auto payload = static_cast<std::uint16_t>(h.payload_bytes);
    std::memcpy(p, &h.first_t, 8);
    std::memcpy(p + 8, &h.first_bits, 8);
    std::memcpy(p + 16, &span, 4);
    std::memcpy(p + 20, &count, 2);
    std::memcpy(p + 22, &payload, 2);
}

SampleBlocks::Header SampleBlocks::header_at(std::size_t offset) const {
    Header h = read_header(bytes_.data() + offset);
    if (offset == open_) {  // the open block's header is written when it closes
        h.last_t = last_t_;
        h.count = open_count_;
        h.payload_bytes = static_cast<std::uint32_t>(bytes_.size() - open_ - kHeaderBytes);
    }
    return h;
}

void SampleBlocks::start_block(std::int64_t t_ms, std::uint64_t bits) {
    if (count_ > 0) store_open_header(header_at(open_));
    // Room for this block as large as the blocks so far, reserved at once: the buffer grows
    // a block at a time to the size the range needs and stays there, where doubling would
    // leave up to half of it unused.
    if (bytes_.capacity() - bytes_.size() < kHeaderBytes + 8) {
        const std::size_t blocks = count_ / per_block_ + 1;
        const std::size_t per_block =
            bytes_.empty() ? kHeaderBytes + per_block_ * 2 : bytes_.size() / blocks;
        bytes_.reserve(bytes_.size() + per_block + per_block / 8 + 8);
    }
    open_ = bytes_.size();
    bytes_.resize(bytes_.size() + kHeaderBytes);
    free_bits_ = 0;
    store_open_header(Header{t_ms, bits, t_ms, 1, 0});
    open_count_ = 1;
    open_first_t_ = t_ms;
    last_delta_ = 0;
    leading_ = 0xff;
    trailing_ = 0;
}

void SampleBlocks::write_bits(std::uint64_t value, int n) {
    if (n < 64) value &= (std::uint64_t{1} << n) - 1;
    if (free_bits_ > 0) {  // the low bits of the last byte first
        const int k = std::min(n, free_bits_);
        bytes_.back() |= static_cast<std::uint8_t>((value >> (n - k)) << (free_bits_ - k));
        free_bits_ -= k;
        n -= k;
    }
    while (n >= 8) {
        n -= 8;
        bytes_.push_back(static_cast<std::uint8_t>(value >> n));
    }
    if (n > 0) {
        bytes_.push_back(static_cast<std::uint8_t>(value << (8 - n)));
        free_bits_ = 8 - n;
    }
}

void SampleBlocks::append(std::int64_t t_ms, double v) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    if (count_ > 0 && t_ms <= last_t_) return;
    if (block_starts_next() || t_ms - open_first_t_ > kMaxSpanMs ||
        bytes_.size() - open_ - kHeaderBytes > kMaxPayload) {
        start_block(t_ms, bits);
    } else {
        // The time and the value as few runs of bits as their widths allow: a sample a
        // second apart whose value holds is one write of two bits.
        std::uint64_t out = 0;
        int n = 0;
        auto put = [&](std::uint64_t value, int width) {
            if (n + width > 64) {
                write_bits(out, n);
                out = 0;
                n = 0;
            }
            out =
                width == 64 ? value : (out << width) | (value & ((std::uint64_t{1} << width) - 1));
            n += width;
        };
        const std::int64_t delta = t_ms - last_t_;
        const std::int64_t dod = delta - last_delta_;
        if (dod == 0) {
            put(0, 1);
        } else {
            bool written = false;
            for (const DodClass &c : kDodClasses) {
                if (!fits_signed(dod, c.value_bits)) continue;
                put(c.prefix, c.prefix_bits);
                put(static_cast<std::uint64_t>(dod), c.value_bits);
                written = true;
                break;
            }
            if (!written) {
                put(0b1111, 4);
                put(static_cast<std::uint64_t>(dod), 64);
            }
        }
        last_delta_ = delta;

        const std::uint64_t x = bits ^ last_bits_;
        if (x == 0) {
            put(0, 1);
        } else {
            const int lead = std::min(std::countl_zero(x), 31);
            const int trail = std::countr_zero(x);
            if (leading_ != 0xff && lead >= leading_ && trail >= trailing_) {
                put(0b10, 2);
                put(x >> trailing_, 64 - leading_ - trailing_);
            } else {
                leading_ = static_cast<std::uint8_t>(lead);
                trailing_ = static_cast<std::uint8_t>(trail);
                const int significant = 64 - lead - trail;
                // "11", 5 bits of leading zeros, 6 of length (64 as 0)
                put((std::uint64_t{0b11} << 11) | (static_cast<std::uint64_t>(lead) << 6) |
                        static_cast<std::uint64_t>(significant & 63),
                    13);
                put(x >> trail, significant);
            }
        }
        write_bits(out, n);
        ++open_count_;
    }
    last_t_ = t_ms;
    last_bits_ = bits;
    ++count_;
}

void SampleBlocks::drop_before(std::int64_t t_ms) {
    std::size_t offset = 0;
    std::uint32_t dropped = 0;
    while (offset < bytes_.size()) {
        const Header h = header_at(offset);
        if (h.last_t >= t_ms) break;
        offset += kHeaderBytes + h.payload_bytes;
        dropped += h.count;
    }
    if (offset == 0) return;
    if (offset >= bytes_.size()) {
        clear();
        return;
    }
    bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(offset));
    open_ -= offset;
    count_ -= dropped;
}

void SampleBlocks::clear() {
    bytes_.clear();
    open_ = 0;
    open_count_ = 0;
    count_ = 0;
    free_bits_ = 0;
}

std::optional<promql::Point> SampleBlocks::last() const {
    if (count_ == 0) return std::nullopt;
    return promql::Point{last_t_, std::bit_cast<double>(last_bits_)};
}

void SampleBlocks::read(std::int64_t mint, std::int64_t maxt,
                        std::vector<promql::Point> &out) const {
    std::size_t offset = 0;
    while (offset < bytes_.size()) {
        const Header h = header_at(offset);
        const std::uint8_t *payload = bytes_.data() + offset + kHeaderBytes;
        offset += kHeaderBytes + h.payload_bytes;
        if (h.last_t < mint) continue;
        if (h.first_t > maxt) return;
        // Room for the whole block, written through a pointer the compiler can keep in a
        // register (a push_back through the reference stores the vector's end each time).
        const std::size_t base = out.size();
        out.resize(base + h.count);
        promql::Point *next = out.data() + base;
        const bool past_maxt = decode_block(h, payload, mint, maxt, next);
        out.resize(static_cast<std::size_t>(next - out.data()));
        if (past_maxt) return;
    }
}

bool SampleBlocks::decode_block(const Header &h, const std::uint8_t *payload, std::int64_t mint,
                                std::int64_t maxt, promql::Point *&next) {
    BitReader in(payload, h.payload_bytes);
    std::int64_t t = h.first_t, delta = 0;
    std::uint64_t bits = h.first_bits;
    int leading = 0, trailing = 0;
    for (std::uint32_t i = 0;; ++i) {
        if (t > maxt) return true;
        if (t >= mint) *next++ = {t, std::bit_cast<double>(bits)};
        if (i + 1 >= h.count) return false;
        std::int64_t dod = 0;
        if (in.bit()) {
            int value_bits = 64;
            for (const DodClass &c : kDodClasses) {
                if (!in.bit()) {
                    value_bits = c.value_bits;
                    break;
                }
            }
            dod = sign_extend(in.read(value_bits), value_bits);
        }
        delta += dod;
        t += delta;
        if (in.bit()) {
            if (in.bit()) {
                leading = static_cast<int>(in.read(5));
                int significant = static_cast<int>(in.read(6));
                if (significant == 0) significant = 64;
                trailing = 64 - leading - significant;
            }
            const int significant = 64 - leading - trailing;
            bits ^= in.read(significant) << trailing;
        }
    }
}

}  // namespace pulse::sidecar
