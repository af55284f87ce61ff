// The zcfs._zcfs extension module; the zcfs package (python/zcfs/__init__.py) re-exports it.
#include <pybind11/stl.h>

#include "py_objects.h"

PYBIND11_MODULE(_zcfs, m) {
  namespace py = pybind11;
  m.doc() = "Native zcfs client: namespace calls, files, registered buffers and batched reads.";
  py::register_exception<zcfs::python::ForkError>(m, "ForkError", PyExc_RuntimeError);
  zcfs::python::bind_client(m);
  zcfs::python::bind_file(m);
  zcfs::python::bind_ring(m);
}
