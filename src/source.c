/* source.c: see source.h. */
#include "config.h"

#include <stdlib.h>

#include "conf.h"
#include "source.h"
#include "util.h"

const struct source_ops *source_for(const struct conf *cfg)
{
	if (cfg->mailbox.maildir)
		return &source_maildir;
	if (cfg->mailbox.url && (str_startswith_ci(cfg->mailbox.url, "imap://") ||
				 str_startswith_ci(cfg->mailbox.url, "imaps://")))
		return &source_imap;
	return NULL;
}

void source_msgs_free(struct source_msg *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].ref);
		free(v[i].data);
		free(v[i].why);
	}
	free(v);
}
