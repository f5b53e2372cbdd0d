// ReadAhead: the inputs of a burst prepared in a thread of their own, handed over in order.
#include "router/read_ahead.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

using sms::process::detail::ReadAhead;

namespace {

// Counts the results alive: a result never taken must still be destroyed (an input's lock let
// go).
struct Counted {
    explicit Counted(std::size_t v, std::atomic<int>& alive)
        : value(v)
        , alive_(&alive) {
        ++*alive_;
    }
    Counted(Counted&& o) noexcept
        : value(o.value)
        , alive_(std::exchange(o.alive_, nullptr)) {}
    Counted& operator=(Counted&&) = delete;
    ~Counted() {
        if (alive_)
            --*alive_;
    }
    std::size_t value;
    std::atomic<int>* alive_;
};

} // namespace

TEST(ReadAhead, EveryResultInOrderWithAndWithoutAThread) {
    for (bool threaded : {true, false}) {
        std::vector<std::thread::id> ran_in;
        ReadAhead<std::size_t> ahead(
            1000, 32,
            [&](std::size_t i) {
                ran_in.push_back(std::this_thread::get_id());
                return i * 7;
            },
            threaded);
        for (std::size_t i = 0; i < 1000; ++i)
            ASSERT_EQ(ahead.next(), i * 7) << threaded;
        ASSERT_EQ(ran_in.size(), 1000u);
        EXPECT_EQ(ran_in.front() != std::this_thread::get_id(), threaded);
    }
}

TEST(ReadAhead, NoMoreThanItsDepthIsPreparedAhead) {
    std::atomic<std::size_t> prepared = 0;
    ReadAhead<std::size_t> ahead(
        500, 8, [&](std::size_t i) { return prepared++, i; }, true);
    for (std::size_t i = 0; i < 500; ++i) {
        ASSERT_EQ(ahead.next(), i);
        // Taken i + 1; at most 8 waiting, and one more being prepared.
        ASSERT_LE(prepared.load(), i + 1 + 8 + 1);
    }
}

TEST(ReadAhead, AFailureComesAfterTheResultsBeforeIt) {
    ReadAhead<int> ahead(
        10, 4,
        [](std::size_t i) {
            if (i == 5)
                throw std::runtime_error("unreadable");
            return static_cast<int>(i);
        },
        true);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(ahead.next(), i);
    EXPECT_THROW(ahead.next(), std::runtime_error);
}

TEST(ReadAhead, WhatIsNotTakenIsDestroyedWithIt) {
    std::atomic<int> alive = 0;
    {
        ReadAhead<Counted> ahead(
            100, 16, [&](std::size_t i) { return Counted(i, alive); }, true);
        EXPECT_EQ(ahead.next().value, 0u);
        EXPECT_EQ(ahead.next().value, 1u);
    } // a run that stops half way (a configuration error): the reader is stopped and joined
    EXPECT_EQ(alive.load(), 0);
}
