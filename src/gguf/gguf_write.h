/*
 * gguf_write.h - a small GGUF v3 writer: metadata copied from an opened file or
 * set one by one, tensor infos laid out at the alignment, then tensor data
 * streamed in order.  Used by `hearth quantize`.
 *
 * Usage:
 *   gguf_writer *w;
 *   gguf_writer_create(32, &w);
 *   gguf_writer_copy_kvs(w, in);                 // every key of an opened file
 *   gguf_writer_set_u32(w, "general.file_type", 15);
 *   gguf_writer_add_tensor(w, "tok.weight", HEARTH_TYPE_Q4_K, 2, ne);
 *   gguf_writer_open(w, "out.gguf.tmp");         // writes header, KVs, tensor infos
 *   gguf_writer_write_data(w, data, n_bytes);    // tensor 0, then 1, ... in order
 *   gguf_writer_close(w);                        // checks every tensor was written
 *   gguf_writer_free(w);
 *
 * Values are serialized when they are set, so nothing borrowed from the source
 * file must outlive the call.  A key set twice is removed and appended again (the
 * last value wins and moves to the end, as llama.cpp's writer does).
 */
#ifndef HEARTH_GGUF_WRITE_H
#define HEARTH_GGUF_WRITE_H

#include "hearth.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_writer gguf_writer;

/* Creates an empty writer whose data section uses `alignment` (a power of two;
 * 0 means 32).  Returns HEARTH_EINVAL or HEARTH_ENOMEM on failure. */
int gguf_writer_create(uint32_t alignment, gguf_writer **out);

/* Frees the writer; closes (and does not remove) a file still open. */
void gguf_writer_free(gguf_writer *w);

/* Sets `key` to a copy of `v` (any type, arrays and nested arrays included). */
int gguf_writer_set_value(gguf_writer *w, const char *key, const hearth_gguf_value *v);
int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *s);
/* Removes `key` if present; returns whether it was. */
bool gguf_writer_remove_key(gguf_writer *w, const char *key);

/* Copies every key/value of `g`, in file order. */
int gguf_writer_copy_kvs(gguf_writer *w, const hearth_gguf *g);

/* Adds a tensor info.  ne[0] must be a multiple of the type's block size; the
 * tensor's offset is the previous tensor's end rounded up to the alignment.
 * Returns HEARTH_EINVAL for a bad name, type or shape and HEARTH_ELIMIT when
 * the sizes overflow. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, int type, uint32_t n_dims, const int64_t *ne);

/* Bytes of tensor i's data, and the whole file's size once every tensor is added. */
uint64_t gguf_writer_tensor_size(const gguf_writer *w, int64_t i);
uint64_t gguf_writer_file_size(const gguf_writer *w);

/* Creates `path` (truncating it) and writes the header, the key/values, the
 * tensor infos and the padding up to the data section.  No keys or tensors may
 * be added afterwards.  HEARTH_EIO with the path and errno text on failure. */
int gguf_writer_open(gguf_writer *w, const char *path);

/* Appends `n` bytes of the current tensor's data (several calls may make up one
 * tensor); after its last byte the padding is written and the next tensor
 * begins.  HEARTH_EINVAL if more bytes are written than the tensors hold. */
int gguf_writer_write_data(gguf_writer *w, const void *data, size_t n);

/* Flushes, syncs and closes the file; HEARTH_EINVAL if tensor data is missing,
 * HEARTH_EIO if the data could not be written. */
int gguf_writer_close(gguf_writer *w);

#endif
