/*
 * core/conf_int — what the files of the config module share; other
 * modules include core/conf.h.
 *
 * conf.c        the key table, the file parser, loading, show, reload
 * conf_value.c  one value: parsing each type, formatting it back, and
 *               comparing list entries
 */
#ifndef TG_CORE_CONF_INT_H
#define TG_CORE_CONF_INT_H

#include <stddef.h>

#include "core/conf.h"
#include "util/buf.h"

#define WHY_MAX 384		/* one value's complaint */
#define QUOTE_MAX 80		/* bytes of a bad value quoted back */
#define DAY (24 * 3600LL)	/* seconds; durations and defaults */

enum conf_type {
	T_STRING, T_PATH, T_BOOL, T_INT, T_DURATION, T_ENUM, T_DOMAIN,
	T_USER, T_LISTEN, T_FORWARD, T_STUB
};

#define F_EMPTY 1u		/* an empty value is allowed */

struct conf_key {
	struct tg_conf_keyinfo info;
	enum conf_type type;
	size_t off, size;	/* the field in struct tg_conf */
	unsigned flags;
	const char *unit;	/* int keys: "bytes" or NULL */
};

/* Parse value v of key k into field (its place in struct tg_conf); on
 * failure -1 with the complaint in w (WHY_MAX bytes). */
typedef int (*conf_parse_fn)(const struct conf_key *k, const char *v,
    void *field, char *w);

/* The parser of a type. */
conf_parse_fn conf_parser_for(enum conf_type t);

/* The field of key k in conf. */
void *conf_field(struct tg_conf *conf, const struct conf_key *k);
const void *conf_cfield(const struct tg_conf *conf, const struct conf_key *k);

/* Lists start with their count (struct tg_conf_addrs, tg_conf_stubs). */
size_t *conf_list_count(void *field);
size_t conf_list_len(const void *field);

/* Item i of a list, or the value of a scalar, in the file syntax; -1
 * when out is full. */
int conf_fmt_value(const struct conf_key *k, const void *field, size_t i,
    struct tg_buf *out);

/* The whole value as written after "key = "; -1 when out is full. */
int conf_fmt_line_value(const struct conf_key *k, const void *field,
    struct tg_buf *out);

/* Whether entries i and j of a list are the same. */
int conf_item_equal(const struct conf_key *k, const void *field, size_t i,
    size_t j);

#endif
