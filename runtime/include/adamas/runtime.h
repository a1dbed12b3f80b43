/*===- adamas/runtime.h - adamas runtime C API ------------------*- C -*-===*\
|*                                                                            *|
|* The C interface of libadamas_runtime.so: a small runtime that loads the   *|
|* CUDA driver at run time, caches compiled GPU artifacts on disk and loaded  *|
|* modules in memory, and launches kernels. It is what the Python package     *|
|* calls through ctypes; host code produced by adamas-gpu-pipeline links the  *|
|* same library for the mgpu* entry points (see adamas/mgpu.h).              *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * Versioning
 * ----------
 * ADAMAS_RUNTIME_API_VERSION is bumped on every incompatible change of this
 * header. adamas_runtime_create() takes the version the caller was compiled
 * against and fails with ADAMAS_ERROR_VERSION_MISMATCH when it differs from
 * the library's. Structs passed by pointer start with `struct_size` (set it
 * to sizeof the struct you were compiled with) so fields can be appended
 * without breaking older callers.
 *
 * Errors
 * ------
 * Every function that can fail returns an adamas_status_t. On failure the
 * thread's last error (adamas_runtime_last_error()) holds a message that
 * names what failed: for CUDA failures, the driver call and the CUDA error
 * name and string; for a cache miss without a compiler, the artifact key.
 * The library never exits or aborts the process.
 *
 * Threads
 * -------
 * All functions are thread-safe. A runtime may be shared between threads.
 *
 * Environment
 * -----------
 *   ADAMAS_CUDA_DRIVER      path of the CUDA driver library to dlopen
 *                           (default "libcuda.so.1"); tests point it at a
 *                           fake driver.
 *   ADAMAS_CACHE_DIR        artifact cache directory when the options give
 *                           none (default "$HOME/.cache/adamas").
 *   ADAMAS_CACHE_MAX_BYTES  size bound of the disk cache when the options give
 *                           none (default 1 GiB).
 *   ADAMAS_RUNTIME_QUIET    if set and not "0", nothing is printed to stderr.
 *   ADAMAS_RUNTIME_VERBOSE  if set and not "0", module loads, cache hits and
 *                           artifact sources are logged to stderr.
 *
 * Disk cache
 * ----------
 * Artifacts live in <cache dir>/artifacts-v1/<key>.bin, where <key> is the
 * lower-case hex SHA-256 of the request (see adamas_artifact_key()). Each
 * file is an 88-byte little-endian header followed by the payload:
 *
 *   offset size  field
 *        0    8  magic "ADAMASAC"
 *        8    4  format version (1)
 *       12    4  header size (88)
 *       16    8  payload size in bytes
 *       24   32  key (SHA-256 of the request; must match the file name)
 *       56   32  SHA-256 of the payload
 *       88    n  payload (the compiled artifact, e.g. a cubin)
 *
 * Files are written to a temporary name in the same directory and renamed
 * into place, so readers see a complete entry or none. An entry whose size,
 * magic, version, key or checksum does not match is deleted and rebuilt,
 * never returned. Least recently used entries (by modification time, which
 * a hit refreshes) are deleted once the directory exceeds its size bound. A
 * directory that cannot be created or written makes the runtime warn once
 * and keep artifacts in memory only.
 */
#ifndef ADAMAS_RUNTIME_H
#define ADAMAS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ADAMAS_RUNTIME_EXPORT __declspec(dllexport)
#else
#define ADAMAS_RUNTIME_EXPORT __attribute__((visibility("default")))
#endif

/** Version of this header; pass it to adamas_runtime_create(). */
#define ADAMAS_RUNTIME_API_VERSION 1

/** Returns ADAMAS_RUNTIME_API_VERSION of the library. */
ADAMAS_RUNTIME_EXPORT int adamas_runtime_api_version(void);

typedef enum adamas_status {
  ADAMAS_OK = 0,
  /** A null pointer, a wrong struct_size, an empty name, ... */
  ADAMAS_ERROR_INVALID_ARGUMENT = 1,
  /** The header and the library disagree on ADAMAS_RUNTIME_API_VERSION. */
  ADAMAS_ERROR_VERSION_MISMATCH = 2,
  /** The CUDA driver could not be loaded, is too old, or has no device. */
  ADAMAS_ERROR_DRIVER_UNAVAILABLE = 3,
  /** A CUDA driver call failed; the message names the call. */
  ADAMAS_ERROR_CUDA = 4,
  /** Cache miss and no compiler registered; the message names the key. */
  ADAMAS_ERROR_NOT_FOUND = 5,
  /** The compiler callback reported a failure or returned nothing. */
  ADAMAS_ERROR_COMPILE_FAILED = 6,
  /** A file system operation failed. */
  ADAMAS_ERROR_IO = 7,
} adamas_status_t;

/** A static, human-readable name of a status ("ADAMAS_ERROR_CUDA", ...). */
ADAMAS_RUNTIME_EXPORT const char *adamas_status_name(adamas_status_t status);

/**
 * The message of the last failure on the calling thread, or "" when none.
 * Valid until the next failing call on this thread.
 */
ADAMAS_RUNTIME_EXPORT const char *adamas_runtime_last_error(void);

/*===--------------------------------------------------------------------===*
 * Runtime objects
 *===--------------------------------------------------------------------===*/

typedef struct adamas_runtime adamas_runtime_t;

typedef struct adamas_runtime_options {
  /** sizeof(adamas_runtime_options_t). */
  uint32_t struct_size;
  /** Cache directory; NULL: $ADAMAS_CACHE_DIR, else $HOME/.cache/adamas. */
  const char *cache_dir;
  /** Disk cache size bound; 0: $ADAMAS_CACHE_MAX_BYTES, else 1 GiB. */
  uint64_t cache_max_bytes;
  /** Non-zero: keep artifacts in memory only. */
  int32_t disable_disk_cache;
} adamas_runtime_options_t;

/**
 * Creates a runtime. `options` may be NULL for the defaults. Succeeds without
 * a CUDA driver (artifacts can be compiled and cached without a GPU); loading
 * and launching then fail with ADAMAS_ERROR_DRIVER_UNAVAILABLE. An unusable
 * cache directory is not an error: the runtime warns and runs memory-only
 * (see adamas_runtime_disk_cache_dir()).
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_runtime_create(int api_version, const adamas_runtime_options_t *options,
                      adamas_runtime_t **out_runtime);

/**
 * Destroys a runtime: releases its modules (they stay in the process-wide
 * module cache until adamas_module_cache_trim()) and frees its artifacts.
 * Handles obtained from it become invalid. NULL is ignored.
 */
ADAMAS_RUNTIME_EXPORT void adamas_runtime_destroy(adamas_runtime_t *runtime);

/**
 * The directory holding this runtime's disk entries, or NULL when the runtime
 * runs memory-only (disabled, or the directory was unusable).
 */
ADAMAS_RUNTIME_EXPORT const char *
adamas_runtime_disk_cache_dir(const adamas_runtime_t *runtime);

/**
 * Checks that the CUDA driver can be loaded and initialized. Returns
 * ADAMAS_ERROR_DRIVER_UNAVAILABLE with the reason otherwise.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t adamas_runtime_check_driver(void);

/*===--------------------------------------------------------------------===*
 * Artifacts: get-or-compile through the caches
 *===--------------------------------------------------------------------===*/

/** What an artifact is compiled from; all of it goes into the cache key. */
typedef struct adamas_compile_request {
  /** sizeof(adamas_compile_request_t). */
  uint32_t struct_size;
  /** Source IR (any bytes); `ir_size` bytes are hashed. */
  const char *ir;
  size_t ir_size;
  /** NUL-terminated; NULL is treated as "". */
  const char *pipeline_options;
  /** Target chip, e.g. "sm_90"; NUL-terminated; NULL is treated as "". */
  const char *chip;
  /** Compiler identity, e.g. "adamas 0.1 (llvm 22.1)"; NULL is "". */
  const char *compiler_version;
} adamas_compile_request_t;

/** Length of a hex key including its terminating NUL. */
#define ADAMAS_KEY_HEX_SIZE 65

/**
 * Computes the cache key of a request: lower-case hex SHA-256 of
 * "adamas.artifact.v1" followed by each field (ir, pipeline_options, chip,
 * compiler_version) as a little-endian u64 length and its bytes.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_artifact_key(const adamas_compile_request_t *request,
                    char out_key_hex[ADAMAS_KEY_HEX_SIZE]);

/** Collects a compiler callback's output; owned by the runtime. */
typedef struct adamas_compile_result adamas_compile_result_t;

/** Gives the compiled binary (copied) to the runtime. */
ADAMAS_RUNTIME_EXPORT void
adamas_compile_result_set_binary(adamas_compile_result_t *result,
                                 const void *data, size_t size);

/** Gives a failure message (copied) to the runtime. */
ADAMAS_RUNTIME_EXPORT void
adamas_compile_result_set_error(adamas_compile_result_t *result,
                                const char *message);

/**
 * Compiles `request` on a cache miss. Returns 0 and calls
 * adamas_compile_result_set_binary() on success; returns non-zero (and may
 * set an error message) on failure. Called without runtime locks held; it
 * may be called concurrently from several threads.
 */
typedef int (*adamas_compile_callback_t)(void *user_data,
                                         const adamas_compile_request_t *request,
                                         const char *key_hex,
                                         adamas_compile_result_t *result);

/** Registers (or with NULL, removes) the compiler used on a cache miss. */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_runtime_set_compiler(adamas_runtime_t *runtime,
                            adamas_compile_callback_t callback,
                            void *user_data);

/** A compiled artifact owned by the runtime; valid until it is destroyed. */
typedef struct adamas_artifact adamas_artifact_t;

/** Where adamas_runtime_get_or_compile() found an artifact. */
typedef enum adamas_artifact_source {
  ADAMAS_ARTIFACT_FROM_MEMORY = 0,
  ADAMAS_ARTIFACT_FROM_DISK = 1,
  ADAMAS_ARTIFACT_FROM_COMPILER = 2,
} adamas_artifact_source_t;

/**
 * Returns the artifact for `request`: from this runtime's memory, else from
 * the disk cache, else from the compiler callback (then stored on disk).
 * Without a compiler and without an entry, fails with ADAMAS_ERROR_NOT_FOUND
 * and a message naming the key. `out_source` may be NULL.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t adamas_runtime_get_or_compile(
    adamas_runtime_t *runtime, const adamas_compile_request_t *request,
    const adamas_artifact_t **out_artifact,
    adamas_artifact_source_t *out_source);

/**
 * Returns the artifact stored under `key_hex` (as computed by
 * adamas_artifact_key()) from this runtime's memory or the disk cache,
 * without compiling: ADAMAS_ERROR_NOT_FOUND if neither has it. A caller that
 * remembers the key of its IR skips hashing the IR again; a memory hit costs
 * a hex parse and a hash-table lookup.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_runtime_lookup(adamas_runtime_t *runtime, const char *key_hex,
                      const adamas_artifact_t **out_artifact,
                      adamas_artifact_source_t *out_source);

ADAMAS_RUNTIME_EXPORT const void *
adamas_artifact_data(const adamas_artifact_t *artifact);
ADAMAS_RUNTIME_EXPORT size_t
adamas_artifact_size(const adamas_artifact_t *artifact);
/** The artifact's cache key (hex, NUL-terminated). */
ADAMAS_RUNTIME_EXPORT const char *
adamas_artifact_key_hex(const adamas_artifact_t *artifact);

/*===--------------------------------------------------------------------===*
 * Modules, functions, launches
 *===--------------------------------------------------------------------===*/

/** A module loaded on one device; owned by the runtime. */
typedef struct adamas_module adamas_module_t;
/** A kernel of a loaded module; owned by the runtime. */
typedef struct adamas_function adamas_function_t;

/**
 * Loads a GPU binary (cubin, fatbin, or NUL-terminated PTX) on `device`
 * (an ordinal, in its primary context) through the process-wide module cache
 * shared with mgpuModuleLoad: the same bytes on the same device and context
 * are loaded by the driver once per process.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t adamas_runtime_load_module(
    adamas_runtime_t *runtime, const void *image, size_t size, int device,
    adamas_module_t **out_module);

/**
 * Like adamas_runtime_load_module() for an artifact. A repeated call with the
 * same artifact and device returns the same handle without hashing anything.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t adamas_runtime_load_artifact(
    adamas_runtime_t *runtime, const adamas_artifact_t *artifact, int device,
    adamas_module_t **out_module);

/** The driver's CUmodule of a loaded module, for interoperation. */
ADAMAS_RUNTIME_EXPORT void *adamas_module_cu_handle(const adamas_module_t *module);

/** Looks up kernel `name` in `module`. Repeated lookups are cached. */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_module_get_function(adamas_module_t *module, const char *name,
                           adamas_function_t **out_function);

/** The driver's CUfunction of a kernel, for interoperation. */
ADAMAS_RUNTIME_EXPORT void *
adamas_function_cu_handle(const adamas_function_t *function);

/**
 * Launches `function` on `stream` (a CUstream of the function's device; NULL
 * is that device's legacy default stream). `kernel_params` is the driver's
 * array of pointers to each argument value. Shared memory above 48 KiB is
 * opted into automatically. Asynchronous: errors of the kernel itself show up
 * at the next synchronization.
 */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_launch(const adamas_function_t *function, const uint32_t grid[3],
              const uint32_t block[3], uint32_t shared_mem_bytes, void *stream,
              void **kernel_params);

/*===--------------------------------------------------------------------===*
 * The current stream: running generated host code on the caller's stream
 *===--------------------------------------------------------------------===*/

/**
 * The driver's special stream handles (cuda.h's CU_STREAM_LEGACY and
 * CU_STREAM_PER_THREAD), for naming a default stream as the current stream:
 * NULL there means "no current stream". PyTorch's default stream (whose
 * `cuda_stream` is 0) is the legacy default stream, ADAMAS_STREAM_LEGACY.
 */
#define ADAMAS_STREAM_LEGACY ((void *)0x1)
#define ADAMAS_STREAM_PER_THREAD ((void *)0x2)

/**
 * Sets the calling thread's current stream: a CUstream of the device the
 * thread's mgpu* calls use (mgpuSetDefaultDevice, default 0), or one of the
 * handles above. NULL clears it. Never fails; costs a thread-local store.
 *
 * While a current stream is set on a thread, the host code adamas-gpu-
 * pipeline produces runs a whole step on it (MLIR 22 lowers `gpu.wait async`
 * to mgpuStreamCreate and the final `gpu.wait` to mgpuStreamSynchronize plus
 * mgpuStreamDestroy):
 *  - mgpuStreamCreate() returns the current stream and creates nothing;
 *  - mgpuStreamSynchronize() and mgpuStreamDestroy() on the current stream
 *    do nothing.
 * The step's work therefore stays enqueued on the caller's stream, ordered
 * after what the caller enqueued before and before what it enqueues after,
 * with no host synchronization, and can be captured into a CUDA graph. The
 * caller owns the stream: it must outlive the work, and the caller
 * synchronizes before it reads results on the host (a step that copies to
 * host memory has not necessarily done so when it returns) and sees a
 * kernel's asynchronous errors at that synchronization.
 *
 * Without a current stream the mgpu* stream functions create, synchronize
 * and destroy streams as upstream's do.
 */
ADAMAS_RUNTIME_EXPORT void adamas_runtime_set_current_stream(void *cu_stream);

/** The calling thread's current stream, or NULL when none is set. */
ADAMAS_RUNTIME_EXPORT void *adamas_runtime_current_stream(void);

/*===--------------------------------------------------------------------===*
 * Statistics and the process-wide module cache
 *===--------------------------------------------------------------------===*/

typedef struct adamas_runtime_stats {
  /** sizeof(adamas_runtime_stats_t); fields beyond it are not written. */
  uint32_t struct_size;
  /* Process-wide (module cache, mgpu* entry points and this API). */
  uint64_t module_driver_loads;    /**< modules the driver actually loaded */
  uint64_t module_cache_hits;      /**< loads served by the module cache */
  uint64_t module_resident;        /**< modules currently loaded */
  uint64_t module_load_ns_total;   /**< time spent in driver module loads */
  uint64_t module_load_ns_last;    /**< the most recent driver module load */
  uint64_t module_hit_ns_last;     /**< the most recent cache hit (hashing incl.) */
  uint64_t kernel_launches;        /**< successful kernel launches */
  uint64_t cuda_errors;            /**< failed driver calls */
  /* Per runtime (zero when `runtime` is NULL). */
  uint64_t artifact_memory_hits;
  uint64_t artifact_disk_hits;
  uint64_t artifact_disk_misses;
  uint64_t artifact_compiles;
  uint64_t artifact_corrupt_entries; /**< bad disk entries deleted */
  uint64_t artifact_disk_writes;
  uint64_t artifact_evictions;       /**< entries deleted to honour the bound */
} adamas_runtime_stats_t;

/** Fills `out` (whose struct_size must be set); `runtime` may be NULL. */
ADAMAS_RUNTIME_EXPORT adamas_status_t
adamas_runtime_get_stats(const adamas_runtime_t *runtime,
                         adamas_runtime_stats_t *out);

/**
 * Unloads every module of the process-wide cache that nobody holds any more
 * (mgpuModuleUnload and adamas_runtime_destroy only release them, so that a
 * module loaded again later is not rebuilt). Returns how many were unloaded.
 */
ADAMAS_RUNTIME_EXPORT size_t adamas_module_cache_trim(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ADAMAS_RUNTIME_H */
