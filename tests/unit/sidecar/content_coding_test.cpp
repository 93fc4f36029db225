#include "content_coding.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace {

using pulse::sidecar::decode_content;

// window_bits: 16 + MAX_WBITS gzip, MAX_WBITS zlib, -MAX_WBITS raw deflate.
std::string compress(const std::string &in, int window_bits) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, in.size()), '\0');
    z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef *>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string gzip(const std::string &in) {
    return compress(in, 16 + MAX_WBITS);
}

std::string random_bytes(std::size_t n) {
    std::mt19937 rng(7);
    std::string s(n, '\0');
    for (char &c : s) c = static_cast<char>(rng());
    return s;
}

TEST(ContentCoding, GzipInflated) {
    std::string text;
    for (int i = 0; i < 20000; ++i) text += "nginx_http_requests_total{code=\"200\"} 1\n";
    std::string body = gzip(text);
    EXPECT_FALSE(decode_content("gzip", body, 64 << 20));
    EXPECT_EQ(body, text);
    body = gzip(text);
    EXPECT_FALSE(decode_content(" X-GZIP ", body, 64 << 20));
    EXPECT_EQ(body, text);
}

TEST(ContentCoding, IdentityAndNoneLeaveTheBody) {
    std::string body = "x 1\n";
    EXPECT_FALSE(decode_content("", body, 100));
    EXPECT_FALSE(decode_content("identity", body, 100));
    EXPECT_EQ(body, "x 1\n");
}

TEST(ContentCoding, AnEmptyBodyIsNothingToDecode) {
    std::string body;
    EXPECT_FALSE(decode_content("gzip", body, 100));
    EXPECT_EQ(body, "");
}

TEST(ContentCoding, ConcatenatedGzipMembersAreOneBody) {
    std::string body = gzip("first\n") + gzip("second\n");
    EXPECT_FALSE(decode_content("gzip", body, 100));
    EXPECT_EQ(body, "first\nsecond\n");
}

TEST(ContentCoding, DeflateZlibOrRaw) {
    std::string body = compress("zlib format", MAX_WBITS);
    EXPECT_FALSE(decode_content("deflate", body, 100));
    EXPECT_EQ(body, "zlib format");
    body = compress("raw deflate", -MAX_WBITS);
    EXPECT_FALSE(decode_content("deflate", body, 100));
    EXPECT_EQ(body, "raw deflate");
}

TEST(ContentCoding, StackedCodingsUndoneFromTheLast) {
    std::string body = gzip(compress("twice", MAX_WBITS));
    EXPECT_FALSE(decode_content("deflate, gzip", body, 100));
    EXPECT_EQ(body, "twice");
}

TEST(ContentCoding, CorruptGzipIsAnError) {
    std::string body = "\x1f\x8b\x08\x00garbage that is not deflate";
    auto e = decode_content("gzip", body, 1 << 20);
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->too_big);
    EXPECT_NE(e->message.find("cannot decode the gzip answer"), std::string::npos) << e->message;
    body = "plain text, not gzip at all";
    e = decode_content("gzip", body, 1 << 20);
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("incorrect header check"), std::string::npos) << e->message;
}

TEST(ContentCoding, TruncatedGzipIsAnError) {
    std::string full = gzip(random_bytes(10000));
    std::string body = full.substr(0, full.size() / 2);
    auto e = decode_content("gzip", body, 1 << 20);
    ASSERT_TRUE(e);
    EXPECT_FALSE(e->too_big);
    EXPECT_NE(e->message.find("ends early"), std::string::npos) << e->message;
}

TEST(ContentCoding, TheDecodedSizeIsBounded) {
    std::string zeros(1 << 20, '\0');
    std::string body = gzip(zeros);
    auto e = decode_content("gzip", body, (1 << 20) - 1);
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->too_big);
    body = gzip(zeros);
    EXPECT_FALSE(decode_content("gzip", body, 1 << 20));  // exactly the limit is fine
    EXPECT_EQ(body.size(), std::size_t{1} << 20);
}

TEST(ContentCoding, UnknownCodingIsAnError) {
    std::string body = "abc";
    auto e = decode_content("br", body, 100);
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("\"br\""), std::string::npos);
}

}  // namespace
