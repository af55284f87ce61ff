// zcfs.Ring and Client.read_batch: many reads, one submit, completions as they come.
#include <algorithm>

#include "py_objects.h"

namespace zcfs::python {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Waits are cut into slices this long so that Ctrl-C (a Python signal handler) is seen.
constexpr milliseconds kWaitSlice{100};

}  // namespace

PyRing::PyRing(std::shared_ptr<Client> client, uint32_t depth, milliseconds timeout) : client_(std::move(client)) {
  ReadRingOptions options;
  if (depth > 0) options.depth = depth;
  options.timeout = timeout;
  auto ring = client_->CreateReadRing(options);
  if (!ring.ok()) raise_status(ring.status());
  ring_ = std::move(*ring);
}

PyRing::~PyRing() {
  if (!owner_.in_owner()) {
    leak(ring_);
    leak(client_);
  }
  Close();
}

void PyRing::Close() {
  {
    // The ring's destructor waits for the reads in flight: only then may their destinations go.
    py::gil_scoped_release release;
    ring_.reset();
  }
  pending_.clear();
}

ReadRing* PyRing::ring() const {
  owner_.Check("this zcfs.Ring");
  if (!ring_) throw py::value_error("the zcfs.Ring is closed");
  return ring_.get();
}

void PyRing::PrepRead(const PyFile& file, uint64_t offset, size_t length, py::object buffer, size_t buffer_offset,
                      py::object user_data, const std::string& context) {
  ReadRing* r = ring();
  FileHandle h = file.handle(context.c_str());
  auto view = std::make_unique<WritableView>(buffer, (context + " buffer").c_str());
  std::span<std::byte> dst = view->Slice(buffer_offset, length, context + " (" + file.path() + ")");
  uint64_t id = next_id_;
  Status s = r->Prepare({.file = h, .offset = offset, .length = length, .dst = dst.data(), .user_data = id});
  if (!s.ok())
    raise_status(s.Prepend(context + ": " + file.path() + " at offset " + std::to_string(offset)), file.path());
  ++next_id_;
  pending_.emplace(id, Pending{std::move(user_data), file.path(), offset, std::move(view)});
}

size_t PyRing::Submit() {
  ReadRing* r = ring();
  Result<size_t> sent = Error(Code::kInternal, "not submitted");
  {
    py::gil_scoped_release release;
    sent = r->Submit();
  }
  if (!sent.ok()) raise_status(sent.status());
  return *sent;
}

std::vector<PyCompletion> PyRing::Finish(std::span<const ReadCompletion> done) {
  std::vector<PyCompletion> out;
  out.reserve(done.size());
  for (const ReadCompletion& c : done) {
    auto it = pending_.find(c.user_data);
    if (it == pending_.end()) continue;  // cannot happen: every id comes from PrepRead
    PyCompletion& o = out.emplace_back();
    o.user_data = std::move(it->second.user_data);
    o.nbytes = c.bytes;
    o.status = c.status;
    o.path = it->second.path;
    o.offset = it->second.offset;
    o.error = c.status.ok() ? py::object(py::none()) : status_exception(c.status, o.path);
    pending_.erase(it);  // the read is over: its destination may go
  }
  return out;
}

std::vector<PyCompletion> PyRing::Poll(size_t max) {
  ReadRing* r = ring();
  std::vector<ReadCompletion> done(max > 0 ? max : pending_.size());
  size_t n = r->Poll(done);
  return Finish(std::span(done).first(n));
}

std::vector<PyCompletion> PyRing::Wait(size_t min, std::optional<milliseconds> timeout, size_t max) {
  ReadRing* r = ring();
  std::vector<ReadCompletion> done(max > 0 ? max : pending_.size());
  min = std::min(min, done.size());
  auto deadline = steady_clock::now() + timeout.value_or(std::chrono::hours(24 * 365));
  size_t n = 0;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    {
      py::gil_scoped_release release;
      n += r->Wait(std::span(done).subspan(n), min - std::min(min, n), std::clamp(left, milliseconds(0), kWaitSlice));
    }
    if (n >= min || steady_clock::now() >= deadline) break;
    if (PyErr_CheckSignals() != 0) {
      Finish(std::span(done).first(n));  // what completed is over; the rest stays pending
      throw py::error_already_set();
    }
  }
  return Finish(std::span(done).first(n));
}

std::vector<size_t> read_batch(PyClient& client, const py::sequence& entries, const py::object& timeout) {
  size_t n = entries.size();
  if (n == 0) return {};
  PyRing ring(client.get(), static_cast<uint32_t>(n), to_millis(timeout, milliseconds(0), "timeout"));
  for (size_t i = 0; i < n; ++i) {
    std::string context = "read_batch entry " + std::to_string(i);
    py::sequence e = entries[i];
    if (e.size() != 4 && e.size() != 5) {
      throw py::value_error(context + ": expected (file, offset, length, buffer[, buffer_offset]), got " +
                            std::to_string(e.size()) + " items");
    }
    size_t buffer_offset = e.size() == 5 ? e[4].cast<size_t>() : 0;
    ring.PrepRead(e[0].cast<const PyFile&>(), e[1].cast<uint64_t>(), e[2].cast<size_t>(), e[3], buffer_offset,
                  py::int_(i), context);
  }
  ring.Submit();
  // Every read has a deadline (the ring's timeout), so this ends with all n completions.
  std::vector<PyCompletion> done = ring.Wait(n, std::nullopt, n);
  std::vector<size_t> bytes(n, 0);
  const PyCompletion* failed = nullptr;
  for (const PyCompletion& c : done) {
    size_t i = c.user_data.cast<size_t>();
    bytes[i] = c.nbytes;
    if (!c.status.ok() && (failed == nullptr || i < failed->user_data.cast<size_t>())) failed = &c;
  }
  if (failed != nullptr) {
    raise_status(Status(failed->status)
                     .Prepend("read_batch entry " + std::to_string(failed->user_data.cast<size_t>()) + ": " +
                              failed->path + " at offset " + std::to_string(failed->offset)),
                 failed->path);
  }
  if (done.size() != n) raise_status(Error(Code::kInternal, "read_batch: a read never completed"));
  return bytes;
}

void bind_ring(py::module_& m) {
  py::class_<PyCompletion>(m, "Completion", "One finished read of a Ring.")
      .def_readonly("user_data", &PyCompletion::user_data)
      .def_readonly("nbytes", &PyCompletion::nbytes)
      .def_readonly("error", &PyCompletion::error, "None, or the OSError the read failed with")
      .def_property_readonly("ok", [](const PyCompletion& c) { return c.status.ok(); })
      .def(
          "result",
          [](const PyCompletion& c) {
            if (!c.status.ok()) raise_status(c.status, c.path);
            return c.nbytes;
          },
          "The bytes read; raises the read's error.")
      .def("__repr__", [](const PyCompletion& c) {
        return "zcfs.Completion(user_data=" + py::repr(c.user_data).cast<std::string>() +
               ", nbytes=" + std::to_string(c.nbytes) + (c.status.ok() ? "" : ", error=" + c.status.ToString()) + ")";
      });

  py::class_<PyRing>(m, "Ring", R"(Batched asynchronous reads: prep_read many, submit once, then poll/wait.

Destinations must lie inside a zcfs.Buffer of the same client (or a view of one). Submit sends one
batched request per storage server. Use from one thread at a time.)")
      .def(py::init([](PyClient& client, uint32_t depth, const py::object& timeout) {
             return std::make_unique<PyRing>(client.get(), depth, to_millis(timeout, milliseconds(0), "timeout"));
           }),
           py::arg("client"), py::arg("depth") = 128, py::arg("timeout") = py::none())
      .def(
          "prep_read",
          [](PyRing& r, const PyFile& f, uint64_t offset, size_t length, py::object buffer, size_t buffer_offset,
             py::object user_data) { r.PrepRead(f, offset, length, std::move(buffer), buffer_offset, user_data); },
          py::arg("file"), py::arg("offset"), py::arg("length"), py::arg("buffer"), py::arg("buffer_offset") = 0,
          py::arg("user_data") = py::none())
      .def("submit", &PyRing::Submit)
      .def("poll", &PyRing::Poll, py::arg("max") = 0)
      .def(
          "wait",
          [](PyRing& r, size_t min, const py::object& timeout, size_t max) {
            std::optional<milliseconds> limit;
            if (!timeout.is_none()) limit = to_millis(timeout, milliseconds(0), "timeout");
            return r.Wait(min, limit, max);
          },
          py::arg("min") = 1, py::arg("timeout") = py::none(), py::arg("max") = 0)
      .def_property_readonly("prepared", &PyRing::prepared)
      .def_property_readonly("in_flight", &PyRing::in_flight)
      .def("close", &PyRing::Close)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyRing& r, py::args) { r.Close(); });
}

}  // namespace zcfs::python
