// The cap on a server's open connections. A connection waiting for a request (idle
// between keep-alive requests, or still sending its head) can be shed; one whose request
// is being answered cannot. When a new connection would exceed the cap, the one that has
// waited longest goes, so that fresh requests (a kubelet's probe, the aggregator's call)
// are answered whatever idle or slow clients hold; only when every connection is busy is
// the new one refused.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <utility>

namespace pulse::sidecar {

// `Handle` names a connection to its server (a weak pointer, say); each connection owns
// its Ticket and calls release() before the ticket goes away.
template <typename Handle>
class ConnectionBudget {
  public:
    class Ticket {
        friend class ConnectionBudget;
        typename std::list<std::pair<Handle, Ticket *>>::iterator position_;
        bool waiting_ = false;
        bool shed_ = false;
    };

    struct Admission {
        bool admitted = false;
        std::optional<Handle> shed;  // close this one to make room
    };

    explicit ConnectionBudget(std::size_t max_connections) : max_(max_connections) {}

    // A new connection asks to be counted.
    Admission admit() {
        std::lock_guard lock(mutex_);
        Admission a;
        if (open_ < max_) {
            ++open_;
            a.admitted = true;
            return a;
        }
        if (waiting_.empty()) return a;  // every connection is busy: refuse the new one
        auto [handle, ticket] = std::move(waiting_.front());
        waiting_.pop_front();
        ticket->waiting_ = false;
        ticket->shed_ = true;
        a.shed = std::move(handle);
        a.admitted = true;  // over the cap until the shed one has closed
        ++open_;
        return a;
    }

    // The connection now waits for (more of) a request: it may be shed from here on.
    // False when it was already chosen to be shed: it must close.
    bool waiting(Ticket &t, Handle h) {
        std::lock_guard lock(mutex_);
        if (t.shed_) return false;
        if (!t.waiting_) {
            t.position_ = waiting_.insert(waiting_.end(), {std::move(h), &t});
            t.waiting_ = true;
        }
        return true;
    }

    // The connection has a complete request head: no longer a candidate. False when it
    // was chosen to be shed in the meantime: it must close.
    bool busy(Ticket &t) {
        std::lock_guard lock(mutex_);
        leave_queue(t);
        return !t.shed_;
    }

    // The connection has closed.
    void release(Ticket &t) {
        std::lock_guard lock(mutex_);
        leave_queue(t);
        --open_;
    }

    std::size_t open() const {
        std::lock_guard lock(mutex_);
        return open_;
    }
    std::size_t waiting_count() const {
        std::lock_guard lock(mutex_);
        return waiting_.size();
    }
    std::size_t max() const { return max_; }

  private:
    void leave_queue(Ticket &t) {
        if (t.waiting_) {
            waiting_.erase(t.position_);
            t.waiting_ = false;
        }
    }

    const std::size_t max_;
    mutable std::mutex mutex_;
    std::size_t open_ = 0;
    std::list<std::pair<Handle, Ticket *>> waiting_;  // oldest first
};

}  // namespace pulse::sidecar
