#include "connection_budget.h"
#include "http_limits.h"
#include "http_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace {

using pulse::sidecar::ConnectionBudget;
using pulse::sidecar::HttpLimits;
using pulse::sidecar::HttpRequest;
using pulse::sidecar::parser_head_limit;
using pulse::sidecar::split_target;
using pulse::sidecar::status_for_head;

using Budget = ConnectionBudget<int>;

// ---- ConnectionBudget ----------------------------------------------------------------

TEST(ConnectionBudget, AdmitsUpToTheCap) {
    Budget budget(3);
    EXPECT_EQ(budget.max(), 3u);
    EXPECT_EQ(budget.open(), 0u);
    Budget::Ticket t[3];
    for (int i = 0; i < 3; ++i) {
        auto a = budget.admit();
        EXPECT_TRUE(a.admitted) << i;
        EXPECT_FALSE(a.shed.has_value()) << i;
        EXPECT_EQ(budget.open(), static_cast<std::size_t>(i + 1));
    }
    EXPECT_EQ(budget.waiting_count(), 0u);
    for (auto &ticket : t) budget.release(ticket);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, CapReachedWithAllBusyRefuses) {
    Budget budget(2);
    Budget::Ticket t[2];
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(budget.admit().admitted);
        // A connection that got its request head: waiting, then busy.
        EXPECT_TRUE(budget.waiting(t[i], i));
        EXPECT_TRUE(budget.busy(t[i]));
    }
    EXPECT_EQ(budget.waiting_count(), 0u);

    auto a = budget.admit();
    EXPECT_FALSE(a.admitted);
    EXPECT_FALSE(a.shed.has_value());
    EXPECT_EQ(budget.open(), 2u);  // a refused connection is not counted

    // Once one closes, there is room again.
    budget.release(t[0]);
    EXPECT_EQ(budget.open(), 1u);
    auto b = budget.admit();
    EXPECT_TRUE(b.admitted);
    EXPECT_FALSE(b.shed.has_value());
    EXPECT_EQ(budget.open(), 2u);

    Budget::Ticket t2;
    budget.release(t[1]);
    budget.release(t2);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ZeroCapRefusesEverything) {
    Budget budget(0);
    auto a = budget.admit();
    EXPECT_FALSE(a.admitted);
    EXPECT_FALSE(a.shed.has_value());
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ShedsTheOldestWaitingAndAdmitsTheNewOne) {
    Budget budget(3);
    Budget::Ticket t[3];
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(budget.admit().admitted);
    // Enqueued in the order 2, 0, 1: 2 has waited longest.
    EXPECT_TRUE(budget.waiting(t[2], 2));
    EXPECT_TRUE(budget.waiting(t[0], 0));
    EXPECT_TRUE(budget.waiting(t[1], 1));
    EXPECT_EQ(budget.waiting_count(), 3u);

    auto a = budget.admit();
    EXPECT_TRUE(a.admitted);
    ASSERT_TRUE(a.shed.has_value());
    EXPECT_EQ(*a.shed, 2);
    EXPECT_EQ(budget.open(), 4u);  // over the cap until the shed one closes
    EXPECT_EQ(budget.waiting_count(), 2u);

    auto b = budget.admit();
    EXPECT_TRUE(b.admitted);
    ASSERT_TRUE(b.shed.has_value());
    EXPECT_EQ(*b.shed, 0);
    EXPECT_EQ(budget.open(), 5u);
    EXPECT_EQ(budget.waiting_count(), 1u);

    // The shed ones close: back to the cap.
    budget.release(t[2]);
    budget.release(t[0]);
    EXPECT_EQ(budget.open(), 3u);
    EXPECT_EQ(budget.waiting_count(), 1u);

    auto c = budget.admit();
    EXPECT_TRUE(c.admitted);
    ASSERT_TRUE(c.shed.has_value());
    EXPECT_EQ(*c.shed, 1);
    EXPECT_EQ(budget.open(), 4u);
    EXPECT_EQ(budget.waiting_count(), 0u);

    // Nobody left waiting: the next one is refused.
    auto d = budget.admit();
    EXPECT_FALSE(d.admitted);
    EXPECT_FALSE(d.shed.has_value());
    EXPECT_EQ(budget.open(), 4u);

    budget.release(t[1]);
    Budget::Ticket fresh[3];
    for (auto &ticket : fresh) budget.release(ticket);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ServedConnectionBecomesYoungestAgain) {
    Budget budget(2);
    Budget::Ticket t[2];
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.waiting(t[0], 10));  // oldest
    EXPECT_TRUE(budget.waiting(t[1], 11));
    // 10 gets a request and is answered, then waits for the next one: now 11 is oldest.
    EXPECT_TRUE(budget.busy(t[0]));
    EXPECT_EQ(budget.waiting_count(), 1u);
    EXPECT_TRUE(budget.waiting(t[0], 10));
    EXPECT_EQ(budget.waiting_count(), 2u);

    auto a = budget.admit();
    EXPECT_TRUE(a.admitted);
    ASSERT_TRUE(a.shed.has_value());
    EXPECT_EQ(*a.shed, 11);

    auto b = budget.admit();
    EXPECT_TRUE(b.admitted);
    ASSERT_TRUE(b.shed.has_value());
    EXPECT_EQ(*b.shed, 10);
    EXPECT_EQ(budget.open(), 4u);
    EXPECT_EQ(budget.waiting_count(), 0u);

    budget.release(t[0]);
    budget.release(t[1]);
    EXPECT_EQ(budget.open(), 2u);
    Budget::Ticket fresh[2];
    for (auto &ticket : fresh) budget.release(ticket);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ShedTicketMustClose) {
    Budget budget(1);
    Budget::Ticket old_one, new_one;
    ASSERT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.waiting(old_one, 1));

    auto a = budget.admit();
    ASSERT_TRUE(a.admitted);
    ASSERT_EQ(a.shed, std::optional<int>(1));

    // The shed connection learns it must close, whatever it tries next, and it is not
    // put back in the queue.
    EXPECT_FALSE(budget.busy(old_one));
    EXPECT_FALSE(budget.waiting(old_one, 1));
    EXPECT_FALSE(budget.busy(old_one));
    EXPECT_EQ(budget.waiting_count(), 0u);
    EXPECT_EQ(budget.open(), 2u);

    // The new one is not affected.
    EXPECT_TRUE(budget.waiting(new_one, 2));
    EXPECT_TRUE(budget.busy(new_one));

    budget.release(old_one);
    EXPECT_EQ(budget.open(), 1u);
    EXPECT_EQ(budget.waiting_count(), 0u);

    // Back at the cap, with the one left busy: a newcomer is refused.
    EXPECT_FALSE(budget.admit().admitted);
    EXPECT_EQ(budget.open(), 1u);

    budget.release(new_one);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ShedWhileWaitingIsSeenByWaiting) {
    Budget budget(1);
    Budget::Ticket old_one, new_one;
    ASSERT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.waiting(old_one, 1));
    auto a = budget.admit();
    ASSERT_EQ(a.shed, std::optional<int>(1));
    // Calling waiting() again (say, more of the head arrived) reports the shedding too.
    EXPECT_FALSE(budget.waiting(old_one, 1));
    EXPECT_EQ(budget.waiting_count(), 0u);
    budget.release(old_one);
    budget.release(new_one);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, WaitingTwiceDoesNotEnqueueTwice) {
    Budget budget(2);
    Budget::Ticket t[2];
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.waiting(t[0], 0));
    EXPECT_TRUE(budget.waiting(t[1], 1));
    // A second waiting() keeps 0 where it was (the oldest), not at the back.
    EXPECT_TRUE(budget.waiting(t[0], 0));
    EXPECT_TRUE(budget.waiting(t[0], 0));
    EXPECT_EQ(budget.waiting_count(), 2u);

    auto a = budget.admit();
    ASSERT_EQ(a.shed, std::optional<int>(0));
    auto b = budget.admit();
    ASSERT_EQ(b.shed, std::optional<int>(1));
    EXPECT_EQ(budget.waiting_count(), 0u);
    // 0 is in the queue once only: nothing left to shed.
    auto c = budget.admit();
    EXPECT_FALSE(c.admitted);
    EXPECT_FALSE(c.shed.has_value());
    EXPECT_EQ(budget.open(), 4u);

    budget.release(t[0]);
    budget.release(t[1]);
    Budget::Ticket fresh[2];
    for (auto &ticket : fresh) budget.release(ticket);
    EXPECT_EQ(budget.open(), 0u);
}

TEST(ConnectionBudget, ReleaseWhileWaitingLeavesTheQueue) {
    Budget budget(2);
    Budget::Ticket t[2];
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.waiting(t[0], 0));
    EXPECT_TRUE(budget.waiting(t[1], 1));
    budget.release(t[0]);  // the idle client closed by itself
    EXPECT_EQ(budget.open(), 1u);
    EXPECT_EQ(budget.waiting_count(), 1u);

    Budget::Ticket t2;
    auto a = budget.admit();  // room under the cap: no shedding
    EXPECT_TRUE(a.admitted);
    EXPECT_FALSE(a.shed.has_value());
    Budget::Ticket t3;
    auto b = budget.admit();  // at the cap: 1 is the only one waiting
    EXPECT_TRUE(b.admitted);
    EXPECT_EQ(b.shed, std::optional<int>(1));

    budget.release(t[1]);
    budget.release(t2);
    budget.release(t3);
    EXPECT_EQ(budget.open(), 0u);
    EXPECT_EQ(budget.waiting_count(), 0u);
}

TEST(ConnectionBudget, ConcurrentCyclesBalance) {
    constexpr int kThreads = 4;
    constexpr int kCycles = 10000;
    Budget budget(2);  // fewer than the threads, so that shedding and refusals happen
    std::vector<std::vector<int>> shed_by_admit(kThreads), told_to_close(kThreads);
    std::vector<int> refused(kThreads, 0);
    std::atomic<bool> bad_waiting{false};
    std::atomic<int> ready{0};

    std::vector<std::thread> threads;
    for (int th = 0; th < kThreads; ++th) {
        threads.emplace_back([&, th] {
            // Start together, so that the cycles overlap.
            ++ready;
            while (ready.load() < kThreads) std::this_thread::yield();
            for (int i = 0; i < kCycles; ++i) {
                int handle = th * kCycles + i;
                Budget::Ticket ticket;
                auto a = budget.admit();
                if (a.shed) shed_by_admit[th].push_back(*a.shed);
                if (!a.admitted) {
                    ++refused[th];
                    continue;
                }
                // A ticket can be shed only while it is in the queue, so the first
                // waiting() always succeeds; busy() then tells whether it was shed.
                if (!budget.waiting(ticket, handle)) bad_waiting = true;
                std::this_thread::yield();  // idle a moment: a chance to be shed
                if (!budget.busy(ticket)) told_to_close[th].push_back(handle);
                budget.release(ticket);
            }
        });
    }
    for (auto &t : threads) t.join();

    EXPECT_FALSE(bad_waiting);
    EXPECT_EQ(budget.open(), 0u);
    EXPECT_EQ(budget.waiting_count(), 0u);

    // Every handle the budget said to shed is exactly one that was told to close.
    std::vector<int> shed, closed;
    for (int th = 0; th < kThreads; ++th) {
        shed.insert(shed.end(), shed_by_admit[th].begin(), shed_by_admit[th].end());
        closed.insert(closed.end(), told_to_close[th].begin(), told_to_close[th].end());
    }
    std::sort(shed.begin(), shed.end());
    std::sort(closed.begin(), closed.end());
    EXPECT_EQ(shed, closed);
    EXPECT_TRUE(std::adjacent_find(shed.begin(), shed.end()) == shed.end());

    // Still usable after all of that.
    Budget::Ticket t[2];
    EXPECT_TRUE(budget.admit().admitted);
    EXPECT_TRUE(budget.admit().admitted);
    EXPECT_FALSE(budget.admit().admitted);
    budget.release(t[0]);
    budget.release(t[1]);
    EXPECT_EQ(budget.open(), 0u);
}

// ---- HttpLimits ----------------------------------------------------------------------

TEST(HttpLimits, Defaults) {
    HttpLimits limits;
    EXPECT_EQ(limits.max_request_line, 8192u);
    EXPECT_EQ(limits.max_header_bytes, 32768u);
    EXPECT_EQ(limits.max_body_bytes, 65536u);
    EXPECT_EQ(limits.max_connections, 4096u);
}

TEST(HttpLimits, ParserHeadLimitIsTheLargerPlusFour) {
    HttpLimits limits;
    EXPECT_EQ(parser_head_limit(limits), 32768u + 4);
    limits.max_request_line = 100;
    limits.max_header_bytes = 50;
    EXPECT_EQ(parser_head_limit(limits), 104u);
    limits.max_header_bytes = 100;
    EXPECT_EQ(parser_head_limit(limits), 104u);
    limits.max_header_bytes = 101;
    EXPECT_EQ(parser_head_limit(limits), 105u);
    static_assert(parser_head_limit(HttpLimits{}) == 32772);
}

TEST(HttpLimits, StatusForHeadBoundaries) {
    HttpLimits limits;
    limits.max_request_line = 100;
    limits.max_header_bytes = 200;
    EXPECT_EQ(status_for_head(0, 0, limits), 0);
    EXPECT_EQ(status_for_head(100, 200, limits), 0);  // exactly at the limits is fine
    EXPECT_EQ(status_for_head(101, 0, limits), 414);
    EXPECT_EQ(status_for_head(100, 201, limits), 431);
    EXPECT_EQ(status_for_head(0, 201, limits), 431);
    // Both over: the request line wins.
    EXPECT_EQ(status_for_head(101, 201, limits), 414);
    // A head the parser gave up on, at the parser's limit.
    std::size_t gave_up = parser_head_limit(limits);
    EXPECT_EQ(status_for_head(gave_up, gave_up, limits), 414);
    EXPECT_EQ(status_for_head(50, gave_up, limits), 431);
    static_assert(status_for_head(8193, 0, HttpLimits{}) == 414);
    static_assert(status_for_head(8192, 32769, HttpLimits{}) == 431);
    static_assert(status_for_head(8192, 32768, HttpLimits{}) == 0);
}

TEST(HttpLimits, StatusForHeadWhenFieldLimitIsSmaller) {
    HttpLimits limits;
    limits.max_request_line = 300;
    limits.max_header_bytes = 10;
    EXPECT_EQ(status_for_head(300, 10, limits), 0);
    EXPECT_EQ(status_for_head(300, 11, limits), 431);
    EXPECT_EQ(status_for_head(301, 11, limits), 414);
    EXPECT_EQ(parser_head_limit(limits), 304u);
}

// ---- HttpRequest, split_target ------------------------------------------------------

TEST(HttpMessage, HeaderIsCaseInsensitiveFirstMatch) {
    HttpRequest r;
    r.headers = {{"Content-Type", "text/plain"},
                 {"X-Forwarded-For", "10.0.0.1"},
                 {"x-forwarded-for", "10.0.0.2"},
                 {"Accept", ""}};
    EXPECT_EQ(r.header("content-type"), std::optional<std::string>("text/plain"));
    EXPECT_EQ(r.header("CONTENT-TYPE"), std::optional<std::string>("text/plain"));
    EXPECT_EQ(r.header("Content-Type"), std::optional<std::string>("text/plain"));
    EXPECT_EQ(r.header("X-FORWARDED-FOR"), std::optional<std::string>("10.0.0.1"));
    EXPECT_EQ(r.header("accept"), std::optional<std::string>(""));
    EXPECT_EQ(r.header("Content-Typ"), std::nullopt);
    EXPECT_EQ(r.header("Content-Types"), std::nullopt);
    EXPECT_EQ(r.header(""), std::nullopt);
    EXPECT_EQ(HttpRequest{}.header("Accept"), std::nullopt);
}

TEST(HttpMessage, ParamDecodesKeyAndValue) {
    HttpRequest r;
    r.query = "a=1&b=hello+world&c%20d=%2A%2a&e=x%3Dy%26z&empty=&flag&a=2";
    EXPECT_EQ(r.param("a"), std::optional<std::string>("1"));  // the first one
    EXPECT_EQ(r.param("b"), std::optional<std::string>("hello world"));
    EXPECT_EQ(r.param("c d"), std::optional<std::string>("**"));
    EXPECT_EQ(r.param("e"), std::optional<std::string>("x=y&z"));
    EXPECT_EQ(r.param("empty"), std::optional<std::string>(""));
    EXPECT_EQ(r.param("flag"), std::optional<std::string>(""));
    EXPECT_EQ(r.param("c%20d"), std::nullopt);  // the name is matched decoded
    EXPECT_EQ(r.param("missing"), std::nullopt);
    EXPECT_EQ(r.param("A"), std::nullopt);  // parameters are case-sensitive
    EXPECT_EQ(r.param("fla"), std::nullopt);
}

TEST(HttpMessage, ParamPlusInKeyAndValueAfterFirstEquals) {
    HttpRequest r;
    r.query = "first+name=a+b&q=1=2";
    EXPECT_EQ(r.param("first name"), std::optional<std::string>("a b"));
    EXPECT_EQ(r.param("q"), std::optional<std::string>("1=2"));
}

TEST(HttpMessage, ParamOnEmptyQuery) {
    HttpRequest r;
    EXPECT_EQ(r.param("a"), std::nullopt);
    r.query = "&&";
    EXPECT_EQ(r.param("a"), std::nullopt);
}

TEST(SplitTarget, SplitsAtTheFirstQuestionMark) {
    using Split = std::pair<std::string_view, std::string_view>;
    EXPECT_EQ(split_target("/a?b=c"), Split("/a", "b=c"));
    EXPECT_EQ(split_target("/metrics"), Split("/metrics", ""));
    EXPECT_EQ(split_target("/a?b?c"), Split("/a", "b?c"));
    EXPECT_EQ(split_target("/a?"), Split("/a", ""));
    EXPECT_EQ(split_target("?x=1"), Split("", "x=1"));
    EXPECT_EQ(split_target(""), Split("", ""));
    // Not percent-decoded.
    EXPECT_EQ(split_target("/a%3Fb?c=%20"), Split("/a%3Fb", "c=%20"));
}

TEST(SplitTarget, ViewsIntoTheTarget) {
    std::string_view target = "/path?query";
    auto [path, query] = split_target(target);
    EXPECT_EQ(path.data(), target.data());
    EXPECT_EQ(query.data(), target.data() + 6);
}

}  // namespace
