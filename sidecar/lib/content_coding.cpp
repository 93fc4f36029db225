#include "content_coding.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "common/ascii_case.h"
#include "common/trim.h"

namespace pulse::sidecar {

namespace {

constexpr std::size_t kChunk = 64 * 1024;

std::string lower_trimmed(std::string_view s) {
    return common::lowercase(common::trim(s));
}

struct Inflater {
    z_stream z{};
    bool ready = false;
    explicit Inflater(int window_bits) { ready = inflateInit2(&z, window_bits) == Z_OK; }
    ~Inflater() {
        if (ready) inflateEnd(&z);
    }
    Inflater(const Inflater &) = delete;
    Inflater &operator=(const Inflater &) = delete;
};

enum class Outcome { ok, too_big, corrupt, truncated };

// Inflates `in` into `out` with the given windowBits; `message` gets zlib's words.
Outcome inflate_all(const std::string &in, int window_bits, bool gzip, std::size_t max_size,
                    std::string &out, std::string &message) {
    Inflater inf(window_bits);
    if (!inf.ready) {
        message = "zlib cannot start";
        return Outcome::corrupt;
    }
    z_stream &z = inf.z;
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    out.clear();
    for (;;) {
        std::size_t old = out.size();
        std::size_t room = std::min(kChunk, max_size + 1 - std::min(max_size + 1, old));
        if (room == 0) return Outcome::too_big;
        out.resize(old + room);
        z.next_out = reinterpret_cast<Bytef *>(out.data() + old);
        z.avail_out = static_cast<uInt>(room);
        int rc = inflate(&z, Z_NO_FLUSH);
        out.resize(old + room - z.avail_out);
        if (out.size() > max_size) return Outcome::too_big;
        if (rc == Z_STREAM_END) {
            // gzip: another member may follow (as `cat a.gz b.gz`); anything else after
            // the stream is ignored, as zlib's gunzip does.
            if (gzip && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
                if (inflateReset(&z) != Z_OK) {
                    message = "zlib cannot restart";
                    return Outcome::corrupt;
                }
                continue;
            }
            return Outcome::ok;
        }
        if (rc == Z_OK) continue;
        if (rc == Z_BUF_ERROR) {  // no progress with room to write: the input ran out
            message = "the compressed data ends early";
            return Outcome::truncated;
        }
        message = z.msg != nullptr ? z.msg : "zlib error " + std::to_string(rc);
        return Outcome::corrupt;
    }
}

}  // namespace

std::optional<DecodeError> decode_content(std::string_view content_encoding, std::string &body,
                                          std::size_t max_size) {
    if (body.empty()) return std::nullopt;  // no body (HEAD, 204, 304): nothing to decode
    std::vector<std::string> codings;
    std::size_t start = 0;
    for (;;) {
        std::size_t comma = content_encoding.find(',', start);
        std::string coding = lower_trimmed(content_encoding.substr(start, comma - start));
        if (!coding.empty() && coding != "identity") codings.push_back(std::move(coding));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
        const std::string &coding = *it;
        std::string out, message;
        Outcome outcome;
        if (coding == "gzip" || coding == "x-gzip") {
            outcome = inflate_all(body, 16 + MAX_WBITS, true, max_size, out, message);
        } else if (coding == "deflate") {
            outcome = inflate_all(body, MAX_WBITS, false, max_size, out, message);
            if (outcome == Outcome::corrupt)  // raw deflate, without the zlib header
                outcome = inflate_all(body, -MAX_WBITS, false, max_size, out, message);
        } else {
            return DecodeError{false, "unsupported Content-Encoding \"" + coding + "\""};
        }
        if (outcome == Outcome::too_big)
            return DecodeError{true, "answer larger than " + std::to_string(max_size) + " bytes"};
        if (outcome != Outcome::ok)
            return DecodeError{false, "cannot decode the " + coding + " answer: " + message};
        body = std::move(out);
    }
    return std::nullopt;
}

}  // namespace pulse::sidecar
