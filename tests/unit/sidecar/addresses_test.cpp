#include "addresses.h"

#include <gtest/gtest.h>

namespace {

using pulse::sidecar::is_loopback_address;

TEST(Addresses, LoopbackIsThePodItself) {
    EXPECT_TRUE(is_loopback_address("127.0.0.1"));
    EXPECT_TRUE(is_loopback_address("127.255.0.9"));
    EXPECT_TRUE(is_loopback_address("::1"));
    EXPECT_TRUE(is_loopback_address("::ffff:127.0.0.1"));
}

TEST(Addresses, EverythingElseIsNot) {
    for (const char *a : {"10.0.0.7", "192.168.1.1", "0.0.0.0", "", "::", "::2", "::ffff:10.1.2.3",
                          "1127.0.0.1", "fe80::1", "128.0.0.1"}) {
        EXPECT_FALSE(is_loopback_address(a)) << a;
    }
}

}  // namespace
