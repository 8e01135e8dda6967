#pragma once
// Values: a handle to shared storage with a shape, dtype, device and storage
// type. Copies of a handle alias the same storage, as MXNet's NDArray does.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace kvs {

enum class dtype : uint8_t { f16, bf16, f32, f64, i32, i64, u8 };
enum class storage : uint8_t { dense, row_sparse };

struct device {
  enum kind_t : uint8_t { cpu_kind, gpu_kind } kind;
  int id;
  friend bool operator==(device a, device b) { return a.kind == b.kind && a.id == b.id; }
  friend bool operator!=(device a, device b) { return !(a == b); }
};

device cpu(int id = 0);  // cpu(1), cpu(2)... are distinct logical devices
device gpu(int id = 0);
using shape = std::vector<int64_t>;

const char* to_string(dtype t);
size_t size_of(dtype t);                 // bytes per element
std::string to_string(device d);         // "cpu(0)", "gpu(1)"
std::string to_string(const shape& s);   // "(2,3)"

namespace detail {
struct array_impl;
struct ndarray_access;
template <class T>
struct is_element_type
    : std::integral_constant<bool, std::is_same<T, float>::value ||
                                       std::is_same<T, double>::value ||
                                       std::is_same<T, int32_t>::value ||
                                       std::is_same<T, int64_t>::value ||
                                       std::is_same<T, uint8_t>::value> {};
template <class T>
constexpr kvs::dtype dtype_of() {
  static_assert(is_element_type<T>::value,
                "T must be one of float, double, int32_t, int64_t, uint8_t");
  return std::is_same<T, float>::value     ? kvs::dtype::f32
         : std::is_same<T, double>::value  ? kvs::dtype::f64
         : std::is_same<T, int32_t>::value ? kvs::dtype::i32
         : std::is_same<T, int64_t>::value ? kvs::dtype::i64
                                           : kvs::dtype::u8;
}
}  // namespace detail

class ndarray {
public:
  ndarray();  // empty; is_none() == true
  static ndarray zeros(kvs::shape, kvs::dtype = dtype::f32, kvs::device = cpu());
  static ndarray full(kvs::shape, double value, kvs::dtype = dtype::f32,
                      kvs::device = cpu());
  // T is one of float, double, int32_t, int64_t, uint8_t; the dtype follows T.
  template <class T>
  static ndarray from_vector(const std::vector<T>& values, kvs::shape s,
                             kvs::device d = cpu()) {
    return from_elements(values.data(), values.size(), detail::dtype_of<T>(), std::move(s), d);
  }
  // A row_sparse array: dense_shape is the full shape; row_ids (sorted,
  // unique) name the stored rows; rows has shape {row_ids.size(),
  // dense_shape[1], ...}. shape() returns dense_shape.
  static ndarray row_sparse(kvs::shape dense_shape, std::vector<int64_t> row_ids,
                            ndarray rows);

  bool is_none() const;
  const kvs::shape& shape() const;
  kvs::dtype dtype() const;
  kvs::device device() const;
  kvs::storage storage() const;
  size_t size() const;                   // elements of the dense shape
  std::vector<int64_t> row_ids() const;  // row_sparse only
  ndarray rows() const;                  // row_sparse only
  // Waits for pending writes, converts to T; row_sparse densifies.
  template <class T>
  std::vector<T> to_vector() const {
    std::vector<T> out(size());
    copy_elements(out.data(), detail::dtype_of<T>());
    return out;
  }
  ndarray copy_to(kvs::device) const;
  void wait_to_read() const;
  // Dense, CPU, T must match the dtype. The mutable form waits for pending
  // reads and writes (the caller may write), the const form for writes.
  template <class T>
  T* data() {
    return static_cast<T*>(raw_data(detail::dtype_of<T>(), true));
  }
  template <class T>
  const T* data() const {
    return static_cast<const T*>(raw_data(detail::dtype_of<T>(), false));
  }

  // True when both handles share one storage.
  bool same_storage(const ndarray& other) const;

private:
  friend struct detail::ndarray_access;
  explicit ndarray(std::shared_ptr<detail::array_impl> impl);
  static ndarray from_elements(const void* values, size_t count, kvs::dtype, kvs::shape,
                               kvs::device);
  void copy_elements(void* out, kvs::dtype as) const;  // waits, converts, densifies
  void* raw_data(kvs::dtype expected, bool for_writing) const;
  std::shared_ptr<detail::array_impl> impl_;
};

}  // namespace kvs
