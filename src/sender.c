/* sender.c: see sender.h. */
#include "config.h"

#include "conf.h"
#include "sender.h"

const struct sender_ops *sender_for(const struct conf *cfg)
{
	if (cfg->smtp.outdir)
		return &sender_file;
	if (cfg->smtp.url && (str_startswith_ci(cfg->smtp.url, "smtp://") ||
			      str_startswith_ci(cfg->smtp.url, "smtps://")))
		return &sender_smtp;
	return NULL;
}
