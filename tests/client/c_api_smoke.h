/* Scenarios of the C API written in C (c_api_smoke.c), run by c_api_test.cc against a real cluster.
 * Each returns NULL when every expectation held, or a message naming the first that did not. */
#ifndef ZCFS_TESTS_CLIENT_C_API_SMOKE_H_
#define ZCFS_TESTS_CLIENT_C_API_SMOKE_H_

#ifdef __cplusplus
extern "C" {
#endif

/* Namespace calls, open/write/read/close, readdir, rename, remove, statfs and their errors. */
const char* c_api_smoke_files(const char* meta_address);
/* Registered buffers and the read ring: a batch of reads across files, short reads, bad inputs. */
const char* c_api_smoke_ring(const char* meta_address);

#ifdef __cplusplus
}
#endif

#endif /* ZCFS_TESTS_CLIENT_C_API_SMOKE_H_ */
