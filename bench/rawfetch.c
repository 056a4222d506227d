/* bench/rawfetch: the reference for the ingest benchmark. One libetpan
 * session that logs in, selects the folder and runs
 * UID FETCH 1:* (UID BODY.PEEK[]), as TESTING.md measures it; prints the
 * number of mails and bytes fetched.
 *
 *   rawfetch HOST PORT USER PASSWORD [FOLDER] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <libetpan/libetpan.h>

int main(int argc, char **argv)
{
	if (argc < 5) {
		fputs("usage: rawfetch HOST PORT USER PASSWORD [FOLDER]\n", stderr);
		return 2;
	}
	mailimap *imap = mailimap_new(0, NULL);
	mailimap_set_timeout(imap, 60);
	int r = mailimap_socket_connect(imap, argv[1], (uint16_t)atoi(argv[2]));
	if (r != MAILIMAP_NO_ERROR_NON_AUTHENTICATED && r != MAILIMAP_NO_ERROR_AUTHENTICATED) {
		fprintf(stderr, "rawfetch: connect: %d\n", r);
		return 1;
	}
	if (mailimap_login(imap, argv[3], argv[4]) != MAILIMAP_NO_ERROR ||
	    mailimap_select(imap, argc > 5 ? argv[5] : "INBOX") != MAILIMAP_NO_ERROR) {
		fputs("rawfetch: login or select failed\n", stderr);
		return 1;
	}
	struct mailimap_set *set = mailimap_set_new_interval(1, 0);
	struct mailimap_fetch_type *ft = mailimap_fetch_type_new_fetch_att_list_empty();
	mailimap_fetch_type_new_fetch_att_list_add(ft, mailimap_fetch_att_new_uid());
	mailimap_fetch_type_new_fetch_att_list_add(ft,
		mailimap_fetch_att_new_body_peek_section(mailimap_section_new(NULL)));
	clist *result = NULL;
	r = mailimap_uid_fetch(imap, set, ft, &result);
	mailimap_fetch_type_free(ft);
	mailimap_set_free(set);
	if (r != MAILIMAP_NO_ERROR) {
		fprintf(stderr, "rawfetch: fetch: %d\n", r);
		return 1;
	}
	size_t n = 0, bytes = 0;
	for (clistiter *it = clist_begin(result); it; it = clist_next(it)) {
		struct mailimap_msg_att *att = clist_content(it);
		for (clistiter *j = clist_begin(att->att_list); j; j = clist_next(j)) {
			struct mailimap_msg_att_item *item = clist_content(j);
			if (item->att_type == MAILIMAP_MSG_ATT_ITEM_STATIC &&
			    item->att_data.att_static->att_type == MAILIMAP_MSG_ATT_BODY_SECTION)
				bytes += item->att_data.att_static->att_data.att_body_section->sec_length;
		}
		n++;
	}
	mailimap_fetch_list_free(result);
	mailimap_logout(imap);
	mailimap_free(imap);
	printf("%zu %zu\n", n, bytes);
	return 0;
}
