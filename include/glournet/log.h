/*
 * One log macro for the whole daemon. Each file defines LOG_TAG (its
 * subsystem) before including this, so every line says where it came from.
 * Never called per packet: workers count, the control thread logs.
 */
#ifndef GLOURNET_LOG_H
#define GLOURNET_LOG_H

#include <stdbool.h>

enum gn_log_level { GN_LOG_ERR, GN_LOG_WARN, GN_LOG_INFO, GN_LOG_DEBUG };

extern enum gn_log_level gn_log_max_level;

/* stderr is the journal (JOURNAL_STREAM names it): lines then start with
 * their syslog priority. Looked up once. */
bool gn_log_on_journal(void);
/* "<3>" for an error line ... "<7>" for debug on the journal; "" elsewhere. */
const char *gn_log_prefix(enum gn_log_level level);

void gn_log(enum gn_log_level level, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#ifndef LOG_TAG
#error "define LOG_TAG before including glournet/log.h"
#endif

#define LOG(level, ...) gn_log(GN_LOG_##level, LOG_TAG, __VA_ARGS__)

#endif
