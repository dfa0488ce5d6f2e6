/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Inside the redis provider: a command built argument by argument for
 * redisCommandArgv / redisAppendCommandArgv, binary-safe, and replies read back: the
 * elements of an array reply, an error's text, binary values (redis*.c). */
#ifndef ACMPCA_REDIS_CMD_H
#define ACMPCA_REDIS_CMD_H

#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include <hiredis/hiredis.h>

#define RD_MAX_ARGS 48

/* Script commands reserve the first three slots (EVALSHA sha numkeys). */
typedef struct rd_cmd_t {
    int argc;
    int overflow;
    apr_pool_t *p;
    const char *argv[RD_MAX_ARGS];
    size_t len[RD_MAX_ARGS];
} rd_cmd_t;

/* An argument beyond RD_MAX_ARGS sets overflow, and the command is not sent. */
static inline void cmd_init(rd_cmd_t *cmd, const char *name, apr_pool_t *p)
{
    cmd->argc = 0;
    cmd->overflow = 0;
    cmd->p = p;
    if (name) {
        cmd->argv[0] = name;
        cmd->len[0] = strlen(name);
        cmd->argc = 1;
    }
}

static inline void cmd_mem(rd_cmd_t *cmd, const void *data, apr_size_t len)
{
    if (cmd->argc >= RD_MAX_ARGS) {
        cmd->overflow = 1;
        return;
    }
    cmd->argv[cmd->argc] = len ? data : "";
    cmd->len[cmd->argc] = len;
    cmd->argc++;
}

static inline void cmd_str(rd_cmd_t *cmd, const char *s)
{
    cmd_mem(cmd, s ? s : "", s ? strlen(s) : 0);
}

static inline void cmd_i64(rd_cmd_t *cmd, apr_int64_t v)
{
    cmd_str(cmd, apr_psprintf(cmd->p, "%" APR_INT64_T_FMT, v));
}

static inline const char *i64_str(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* A field and its value, or nothing when the value is NULL: absent fields read back as
 * NULL, as sqlite's NULL columns do. */
static inline void cmd_field(rd_cmd_t *cmd, const char *name, const char *value)
{
    if (value) {
        cmd_str(cmd, name);
        cmd_str(cmd, value);
    }
}

/* Element i of an array reply as a string in p (with p NULL, a pointer into the reply),
 * NULL when nil or missing. */
static inline const char *elem_str(const redisReply *r, size_t i, apr_pool_t *p)
{
    const redisReply *e;

    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements) {
        return NULL;
    }
    e = r->element[i];
    if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS) {
        return NULL;
    }
    return p ? apr_pstrmemdup(p, e->str, e->len) : e->str;
}

/* Element i as a number (an integer reply, or the decimal string we stored); 0 if nil. */
static inline apr_int64_t elem_i64(const redisReply *r, size_t i)
{
    const char *s;

    if (r && r->type == REDIS_REPLY_ARRAY && i < r->elements
        && r->element[i]->type == REDIS_REPLY_INTEGER) {
        return r->element[i]->integer;
    }
    s = elem_str(r, i, NULL);
    return s ? apr_atoi64(s) : 0;
}

static inline void reply_free(redisReply *r)
{
    if (r) {
        freeReplyObject(r);
    }
}

/* An error text of a reply that is an error, else NULL. */
static inline const char *reply_error_text(const redisReply *r)
{
    if (r && r->type == REDIS_REPLY_ERROR) {
        return r->str ? r->str : "error";
    }
    return NULL;
}

/* Binary bytes in p; an empty value is an empty buffer, never NULL. */
static inline const unsigned char *bytes_dup(const char *data, apr_size_t len, apr_pool_t *p)
{
    return len ? apr_pmemdup(p, data, len) : apr_pcalloc(p, 1);
}

#endif
