// Reading ahead (private to lib/router/): the inputs of a burst opened, read, parsed and locked
// in a thread of their own, a few ahead of the run that routes them, in the listing's order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace sms::process::detail {

// Runs `work(0)`, `work(1)`, ... `work(count - 1)` in a thread of its own, at most `ahead`
// results waiting at a time; next() hands them over in order. Without a thread (threaded false,
// or none to be had) next() runs the work itself. A result not taken when the ReadAhead goes is
// destroyed with it (an input's lock is let go: the next run takes it).
template <class T>
class ReadAhead {
public:
    ReadAhead(std::size_t count, std::size_t ahead, std::function<T(std::size_t)> work,
              bool threaded)
        : count_(count)
        , ahead_(ahead)
        , work_(std::move(work)) {
        if (!threaded || count_ == 0)
            return;
        try {
            thread_ = std::thread([this] { fill(); });
        } catch (const std::system_error&) {
        }
    }
    ~ReadAhead() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        room_.notify_one();
        if (thread_.joinable())
            thread_.join();
    }
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;

    // The next result in order (count() of them in all).
    T next() {
        if (!thread_.joinable())
            return work_(taken_++);
        std::unique_lock lock(mutex_);
        if (done_.empty() && !failed_) {
            waiting_ = true;
            ready_.wait(lock, [this] { return !done_.empty() || failed_; });
            waiting_ = false;
        }
        if (done_.empty())
            std::rethrow_exception(failed_);
        T out = std::move(done_.front());
        done_.pop_front();
        // The reader is woken only once a quarter is left: not at every message.
        const bool wake = done_.size() == ahead_ / 4;
        lock.unlock();
        if (wake)
            room_.notify_one();
        return out;
    }

private:
    void fill() {
        for (std::size_t i = 0; i < count_; ++i) {
            {
                // Full: it waits until the run has taken all but a quarter.
                std::unique_lock lock(mutex_);
                if (done_.size() >= ahead_)
                    room_.wait(lock, [this] { return stop_ || done_.size() <= ahead_ / 4; });
                if (stop_)
                    return;
            }
            bool wake = false;
            try {
                T out = work_(i);
                std::lock_guard lock(mutex_);
                done_.push_back(std::move(out));
                wake = waiting_;
            } catch (...) {
                std::lock_guard lock(mutex_);
                failed_ = std::current_exception();
                wake = true;
            }
            if (wake) // the run waits for this one
                ready_.notify_one();
            if (failed_)
                return;
        }
    }

    const std::size_t count_, ahead_;
    std::function<T(std::size_t)> work_;
    std::size_t taken_ = 0; // by next() without a thread
    std::mutex mutex_;
    std::condition_variable ready_, room_;
    std::deque<T> done_;
    std::exception_ptr failed_;
    bool stop_ = false;
    bool waiting_ = false; // the run waits in next()
    std::thread thread_;   // last: started once the rest is there
};

} // namespace sms::process::detail
