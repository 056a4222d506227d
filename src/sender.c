/* sender.c: see sender.h. */
#include "config.h"

#include "conf.h"
#include "sender.h"

const struct sender_ops *sender_for(const struct conf *cfg)
{
	if (cfg->smtp.outdir)
		return &sender_file;
	return NULL;
}
