#pragma once
// A request whose deadline is kept in the actor's deadline_book (see
// deadlines.hpp). The actor's interface must accept tick_atom and hand it to
// on_tick. `then` gets the answer, `fail` the error (expiry included), each
// at most once.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/deadlines.hpp"
#include "actors/fault_log.hpp"
#include "messages/atoms.hpp"
#include "messages/errors.hpp"

namespace kvs::detail {

template <class Self>
void arm_tick(Self* self, deadline_book& book, std::chrono::milliseconds timeout) {
  if (book.tick_armed || book.empty())
    return;
  book.tick_armed = true;
  self->delayed_send(self, tick_interval(timeout), tick_atom::value);
}

template <class Self>
void on_tick(Self* self, deadline_book& book, std::chrono::milliseconds timeout) {
  book.tick_armed = false;
  book.expire();
  arm_tick(self, book, timeout);
}

// Runs an answer's continuation: what it throws is logged, never let out of
// the response handler (CAF would end the actor). Continuations that belong
// to a request answer their own errors; this is the last resort.
template <class Fn>
void contain(const std::string& what, Fn&& fn) {
  if (auto f = capture(std::forward<Fn>(fn)))
    log_fault("after " + what, *f);
}

// Reply is the answer's type (`then` takes it), or void for an empty answer
// (`then` takes nothing).
// Returns the request's id in the book (deadline_book::fail ends it early).
template <class Reply, class Self, class Dest, class OnReply, class OnError, class... Ts>
uint64_t timed_request(Self* self, deadline_book& book, std::chrono::milliseconds timeout,
                       const Dest& dest, std::string what, OnReply then, OnError fail,
                       Ts&&... xs) {
  auto id = book.open(timeout, what, [fail](kvs::error err) mutable { fail(std::move(err)); });
  arm_tick(self, book, timeout);
  auto on_error = [&book, id, fail, what](caf::error& err) mutable {
    if (book.close(id))
      contain(what, [&] { fail(from_caf_error(err, what)); });
  };
  auto pending = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
  if constexpr (std::is_same<Reply, void>::value) {
    pending.then(
        [&book, id, then, what]() mutable {
          if (book.close(id))
            contain(what, [&] { then(); });
        },
        on_error);
  } else {
    pending.then(
        [&book, id, then, what](Reply& reply) mutable {
          if (book.close(id))
            contain(what, [&] { then(std::move(reply)); });
        },
        on_error);
  }
  return id;
}

// Sends one request to every handle in `to` (a null handle counts as a
// peer_down failure). `each` sees every answer; `done` runs once, with the
// first failure or with none, after the last answer. `what(i)` names the
// request to to[i] in errors; `sent(i, id)` learns each request's id.
template <class Reply, class Self, class Handle, class What, class Sent, class Each, class Done,
          class... Ts>
void fan_out(Self* self, deadline_book& book, std::chrono::milliseconds timeout,
             const std::vector<Handle>& to, What what, Sent sent, Each each, Done done,
             const Ts&... xs) {
  struct progress {
    size_t remaining;
    std::optional<kvs::error> first;
  };
  auto pr = std::make_shared<progress>(progress{to.size(), std::nullopt});
  auto finish_one = [pr, done]() mutable {
    if (--pr->remaining == 0)
      done(pr->first);
  };
  auto fail_one = [pr, finish_one](kvs::error err) mutable {
    if (!pr->first)
      pr->first = std::move(err);
    finish_one();
  };
  if (to.empty())
    done(std::nullopt);
  for (size_t i = 0; i < to.size(); ++i) {
    if (!to[i]) {
      fail_one(kvs::error(errc::peer_down, what(i) + ": the peer is down"));
      continue;
    }
    sent(i, timed_request<Reply>(
                self, book, timeout, to[i], what(i),
                [each, finish_one](Reply r) mutable {
                  each(std::move(r));
                  finish_one();
                },
                fail_one, xs...));
  }
}

}  // namespace kvs::detail
