#pragma once
// A request whose deadline is kept in the actor's deadline_book (see
// deadlines.hpp). The actor's interface must accept tick_atom and hand it to
// on_tick. `then` gets the answer, `fail` the error (expiry included), each
// at most once.
#include <string>

#include <caf/all.hpp>

#include "actors/deadlines.hpp"
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
      fail(from_caf_error(err, what));
  };
  auto pending = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
  if constexpr (std::is_same<Reply, void>::value) {
    pending.then(
        [&book, id, then]() mutable {
          if (book.close(id))
            then();
        },
        on_error);
  } else {
    pending.then(
        [&book, id, then](Reply& reply) mutable {
          if (book.close(id))
            then(std::move(reply));
        },
        on_error);
  }
  return id;
}

}  // namespace kvs::detail
