#include <cstring>

#include "actors/key_shard_state.hpp"
#include "core/array_impl.hpp"
#include "core/log.hpp"
#include "core/row_ops.hpp"

namespace kvs::detail {

namespace {

const caf::node_id& sender_node(shard_impl self, const char* what) {
  auto& s = self->current_sender();
  if (!s)
    throw kvs::error(errc::invalid_argument, std::string(what) + " from an anonymous sender");
  return s->node();
}

// The mapping a range names: a segment its sender's own node announced.
const std::shared_ptr<shm_mapping>& mapping_of(const shard_state& st, const caf::node_id& node,
                                               uint32_t segment) {
  auto p = st.shm.peers.find(node);
  if (p != st.shm.peers.end()) {
    auto s = p->second.segments.find(segment);
    if (s != p->second.segments.end())
      return s->second;
  }
  throw kvs::error(errc::invalid_argument,
                     "shared memory segment " + std::to_string(segment) +
                         " was not announced by the node that names it (or is unmapped)");
}

// Whether a range of `m` holds the rows it names, per direction: a
// row_sparse push's input, a pull of rows' answer. A row_sparse pushpull's
// answer is the whole part (a dense output), as any pull's.
bool names_rows(const part_request& m, bool input) {
  return input ? m.op == part_op::push && m.sparse : m.op == part_op::pull_rows;
}

// The elements a range must hold: the key part's, or exactly the rows a
// row_sparse push or a pull of rows names (their ids, in the message).
uint64_t elements_named(const key_entry& e, const part_request& m, bool input) {
  if (!names_rows(m, input))
    return e.stored.size();
  if (e.stored.shape().empty())
    throw kvs::error(errc::invalid_argument, "a request of rows of " + key_name(e) +
                                                 ", a scalar: it has no rows");
  return m.rows.size() * row_length(e.stored.shape());
}

// A range must hold the values named exactly, in the key's dtype.
void check_fits(const key_entry& e, const part_request& m, const array_view& v, bool input,
                const char* role) {
  auto& stored = e.stored;
  if (v.shm.type != stored.dtype())
    throw kvs::error(errc::dtype_mismatch, std::string(role) + " of " + key_name(e) + " in shared memory is " +
                                               to_string(v.shm.type) + "; the key holds " +
                                               to_string(stored.dtype()));
  auto named = elements_named(e, m, input);
  if (v.count != named)
    throw kvs::error(errc::shape_mismatch,
                     std::string(role) + " of " + key_name(e) + " in shared memory has " +
                         std::to_string(v.count) + " elements; " +
                         (names_rows(m, input) ? "its " + std::to_string(m.rows.size()) +
                                              " row ids name " + std::to_string(named)
                                        : "the key part holds " + std::to_string(named)));
}

// The memory of a view's range, inside its mapping and on the 64-byte
// boundary the worker's ranges keep (an element never straddles it).
// `what` names the request, built only for an error.
template <class What>
uint8_t* range_of(const shard_state& st, const caf::node_id& node, const array_view& v,
                  const What& what) {
  auto* at = mapping_of(st, node, v.shm.segment)->range(v.shm.offset, v.shm.bytes, what);
  if (v.shm.offset % shm_range_alignment != 0)
    throw kvs::error(errc::invalid_argument, what() + ": shared memory range at " +
                                                 std::to_string(v.shm.offset) + " is not " +
                                                 std::to_string(shm_range_alignment) +
                                                 "-byte aligned");
  return at;
}

}  // namespace

void accept_segment(shard_impl self, const shm_announce& a) {
  auto& st = self->state;
  if (!st.shm.enabled)
    throw kvs::error(errc::unsupported, "this server runs with KVS_TRANSPORT=caf: no shared memory");
  auto& node = sender_node(self, "a shared memory announcement");
  if (!a.owner || a.owner->node() != node)
    throw kvs::error(errc::invalid_argument,
                     "a shared memory announcement names no owner, or an owner on another node");
  auto known = st.shm.peers.find(node);
  if (known != st.shm.peers.end() &&
      (known->second.segments.count(a.segment) > 0 ||
       known->second.segments.size() + known->second.pending.size() >= max_shm_segments_per_peer))
    throw kvs::error(errc::invalid_argument, "shared memory segment " + std::to_string(a.segment) +
                                                 ": already mapped, or too many segments");
  auto m = std::make_shared<shm_mapping>(a.pid, a.fd, a.size, shm_nonce{a.nonce_hi, a.nonce_lo});
  // The nonce is no proof of who announced it (a peer told it can replay
  // it): the owner proves it by reading this back from the segment.
  auto challenge = random_shm_nonce();
  m->write_challenge(challenge);
  st.shm.peers[node].pending[a.segment] = shm_pending{std::move(m), challenge, a.owner};
}

void bind_segment(shard_impl self, const shm_echo& echo) {
  auto& st = self->state;
  auto& node = sender_node(self, "a shared memory echo");
  auto known = st.shm.peers.find(node);
  auto what = "shared memory segment " + std::to_string(echo.segment);
  if (known == st.shm.peers.end() || known->second.pending.count(echo.segment) == 0)
    throw kvs::error(errc::invalid_argument, what + ": no announcement from this node waits for "
                                                    "an echo");
  auto& peer = known->second;
  auto p = std::move(peer.pending.at(echo.segment));
  peer.pending.erase(echo.segment);  // one try: a wrong echo unmaps it
  if (!(p.challenge == shm_nonce{echo.challenge_hi, echo.challenge_lo}))
    throw kvs::error(errc::invalid_argument,
                     what + ": the echo is not the challenge written into it (the announcer "
                            "cannot read that segment: not its owner, or another host)");
  if (!peer.owner) {
    peer.owner = p.owner;
    self->monitor(p.owner);
  }
  auto size = p.mapping->size();
  peer.segments.emplace(echo.segment, std::move(p.mapping));
  log::info("kvs server: mapped shared memory segment " + std::to_string(echo.segment) + " (" +
            std::to_string(size) + " bytes) of a worker on this host");
}

void drop_segments(shard_impl self, const caf::actor_addr& gone) {
  auto& peers = self->state.shm.peers;
  for (auto i = peers.begin(); i != peers.end();)
    if (i->second.owner && i->second.owner.address() == gone) {
      log::info("kvs server: unmapped the shared memory of a worker that ended");
      i = peers.erase(i);
    } else {
      ++i;
    }
}

bool names_shm(const part_request& m) {
  for (auto* views : {&m.inputs, &m.outputs})
    for (auto& v : *views)
      if (!v.shm.empty())
        return true;
  return false;
}

uint64_t resolve_shm(shard_impl self, const caf::node_id& node, part_request& m) {
  auto& st = self->state;
  auto what = [&] { return "a request on key " + m.id.key.to_string(); };  // for errors only
  if ((m.op != part_op::push && m.op != part_op::pull && m.op != part_op::pull_rows) ||
      m.codec != 0 || m.failed)
    throw kvs::error(errc::invalid_argument,
                     what() + ": only plain pushes (dense or rows) and pulls use shared memory");
  auto e = st.entries.find(entry_id{m.id.key, m.id.part});
  if (e == st.entries.end())
    throw kvs::error(errc::key_not_initialized, "key " + m.id.key.to_string() + " (part " +
                                                    std::to_string(m.id.part) +
                                                    ") is not initialized on this shard");
  uint64_t moved = 0;
  for (auto& v : m.inputs) {
    if (v.shm.empty())
      continue;
    check_fits(e->second, m, v, true, "a pushed value");
    uint8_t* src = range_of(st, node, v, what);
    auto& map = mapping_of(st, node, v.shm.segment);
    // Summed straight from the worker's memory: the array holds the mapping
    // (unmapped only when the last handle ends), the seals keep every page
    // there, and the worker gives the range back only after the answer. A
    // worker that writes into it meanwhile spoils only its own gradient.
    moved += v.shm.bytes;
    v.array = borrowed_array(std::move(v.shm.dims), v.shm.type, src, map);
    v.offset = 0;
    v.shm = shm_range{};
  }
  for (auto& v : m.outputs) {
    if (v.shm.empty())
      continue;
    if (m.outputs.size() != 1)
      throw kvs::error(errc::invalid_argument, what() + ": a landing range with several outputs");
    check_fits(e->second, m, v, false, "a landing range");
    auto* dst = range_of(st, node, v, what);
    if (m.op == part_op::pull_rows) {
      // Rows are gathered straight into their landing range, as into an
      // output in process (the answer then carries no value): no array of
      // them to make and copy there. Written before the pull is answered.
      v.array = borrowed_array({static_cast<int64_t>(v.count)}, v.shm.type, dst,
                               mapping_of(st, node, v.shm.segment));
      v.offset = 0;
      v.shm = shm_range{};
    }
  }
  return moved;
}

item_done land_in_shm(shard_impl self, const caf::node_id& node, const part_request& m,
                      item_done next) {
  auto landing = m.outputs.at(0).shm;
  return [self, node, landing, next = std::move(next)](failure f, item_answer a) {
    // Anything but the plain value of the range (an error, a packed answer)
    // goes in the message.
    const ndarray& v = a.value;
    if (f || v.is_none() || v.storage() != storage::dense || v.dtype() != landing.type ||
        v.size() * size_of(v.dtype()) != landing.bytes) {
      next(std::move(f), std::move(a));
      return;
    }
    auto g = capture([&] {
      auto& map = mapping_of(self->state, node, landing.segment);
      void* dst = map->range(landing.offset, landing.bytes, "the answer's landing range");
      cuda_or_memcpy(dst, cpu(), ndarray_access::raw(v), v.device(), landing.bytes);
    });
    next(std::move(g), item_answer(ndarray(), a.gradient_rows));
  };
}

}  // namespace kvs::detail
