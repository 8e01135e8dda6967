#include "messages/message_types.hpp"

#include "messages/cluster_actors.hpp"
#include "messages/shard_actor.hpp"

namespace kvs {

void add_message_types(caf::actor_system_config& sc) {
  sc.add_message_type<part_batch>("kvs::part_batch");
  sc.add_message_type<batch_reply>("kvs::batch_reply");
  sc.add_message_type<key_state>("kvs::key_state");
  sc.add_message_type<shm_announce>("kvs::shm_announce");
  sc.add_message_type<shm_echo>("kvs::shm_echo");
  sc.add_message_type<node_info>("kvs::node_info");
  sc.add_message_type<registration>("kvs::registration");
  sc.add_message_type<shard_actor>("kvs::shard_actor");
  sc.add_message_type<server_actor>("kvs::server_actor");
  sc.add_message_type<coordinator_actor>("kvs::coordinator_actor");
}

}  // namespace kvs
