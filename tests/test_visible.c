/* test_visible.c: the visible part of replies from common mail clients in
 * sixteen languages, the github/email_reply_parser corpus (read in place from
 * ../shared/corpora), attributions and the subject prefix stripper. */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"
#include "visible.h"

struct row {
	const char *name, *in, *out; /* out NULL: the input, unchanged */
};

static void check_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *want = rows[i].out ? rows[i].out : rows[i].in;
		char *got = visible_text(rows[i].in);
		if (strcmp(got, want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", rows[i].name, got, want);
		free(got);
	}
}

/* Shapes, normalisation, and the reference's rules. */
static const struct row basic_rows[] = {
	{ "no quote: unchanged", "APPROVE\n\nLooks fine.\n  indented line\nlast", NULL },
	{ "trailing blank lines", "APPROVE\n\n \n\t\n", "APPROVE" },
	{ "leading blank lines", "\n \n\nAPPROVE", "APPROVE" },
	{ "trailing white space of each line", "APPROVE  \nline two\t\n", "APPROVE\nline two" },
	{ "empty", "", "" },
	{ "crlf", "APPROVE\r\nsecond line\r\n\r\n> quoted\r\n", "APPROVE\nsecond line" },
	{ "final cr", "APPROVE\r", "APPROVE" },
	{ "stray cr before crlf", "ok\n\n--\r\r\nsig\r\n> q\r\nmore", "ok\n\n--\nsig\n> q\nmore" },
	{ "quote after spaces", "ok\n   > quoted\n", "ok" },
	{ "only quote", "> a\n> b\n", "" },
	{ "on without wrote is text", "On second thought, approve.\nThanks\n\nOn a side note: nothing", NULL },
	{ "bullets are text", "One:\n- first\n- second", NULL },
	{ "dashes inside a line", "Fix -- not a signature.\n\nkthx", NULL },
	{ "from without sent is text", "From: the start it was clear.\nTo: all\nCc: x\nSubject: y\nz", NULL },
	{ "a word before a colon is text", "A: yes\nDe: nothing", NULL },
	{ "underscores get a blank line above",
	  "ok\n__________\nlist footer\n\n> q\nmore", "ok\n\n__________\nlist footer\n\n> q\nmore" },
	{ "invalid utf-8", "ok \xff\xfe\n\nOn \xff wrote:\n> x", "ok \xff\xfe" },
	/* where the reply is */
	{ "top post", "APPROVE\n\n> Please approve.\n> Thanks", "APPROVE" },
	{ "bottom post", "> question\nanswer", "answer" },
	{ "bottom post with attribution and signature",
	  "On Mon, Apr 2, 2012 at 6:26 PM, Megan <m@x.org> wrote:\n> Hi\n\nAPPROVE\n\n-- \nJane\n", "APPROVE" },
	{ "thunderbird bottom post, no blank line", "On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi\nHello",
	  "Hello" },
	{ "inline answers keep their quotes",
	  "\nOn Tue, Apr 29, 2014 at 4:22 PM, Dev <d@x.org>wrote:\n\n> one\n>\n\nfirst answer\n\n>\n> two\n>\n\n"
	  "second answer\n\n> > older\n\n--\nsig\n",
	  "On Tue, Apr 29, 2014 at 4:22 PM, Dev <d@x.org>wrote:\n\n> one\n>\n\nfirst answer\n\n>\n> two\n>\n\n"
	  "second answer" },
	{ "text above and below a quote", "Hi,\nOn Tue, 2011-03-01 at 18:02, Abi wrote:\n> q\n\nanswer\n\n> old",
	  "Hi,\nOn Tue, 2011-03-01 at 18:02, Abi wrote:\n> q\n\nanswer" },
	{ "wrapped attribution is joined when kept",
	  "Hi,\nOn Tue, Mar 3, 2026 at 10:00 AM, John Doe <\nj@x.org> wrote:\n> q\nanswer",
	  "Hi,\nOn Tue, Mar 3, 2026 at 10:00 AM, John Doe < j@x.org> wrote:\n> q\nanswer" },
	{ "attribution without quote is a cut", "On Mon, Apr 2, 2012, Megan <m@x.org> wrote:\nold text", "" },
	{ "any attribution followed by a quote", "yes\nJohn Doe <j@x.org> wrote:\n> old", "yes" },
	{ "a wrote line without date or address is text", "Here is what I wrote:\n\nnew text", NULL },
};

/* "<reply>\n\n<attribution>\n> <quote>": the visible part is the reply. */
static const struct row attribution_rows[] = {
	{ "english, gmail", "APPROVE\n\nOn Tue, Mar 3, 2026 at 10:00 AM John Doe <j@x.org> wrote:\n\n> Please approve.\n",
	  "APPROVE" },
	{ "english, wrapped", "REJECT no budget\n\nOn Tue, 2026 Mar 3 at 10:00,\nJohn <j@x.org> wrote:\n> hi\n",
	  "REJECT no budget" },
	{ "english, wrapped, no space", "ok\r\n\r\nOn Tue, Sep 25, 2012 at 8:59 AM, Chris\r\n<c@x.org>wrote:\r\n\r\n> x\r\n",
	  "ok" },
	{ "english, three lines", "yes\n\nOn Dec 16, 2011, at 12:47 PM, Corey\n<c@x.org>\nwrote:\n\n> x", "yes" },
	{ "english, yahoo", "yes\n\n--- On Wed, 4/4/12, a@x.org <a@x.org> wrote:\n\nFrom: a\nold text", "yes" },
	{ "german", "Genehmigt.\n\nAm Di., 3. März 2026 um 10:00 Uhr schrieb Hans Müller <h@x.de>:\n> Bitte genehmigen.",
	  "Genehmigt." },
	{ "german, apple", "Genehmigt.\n\nAm 03.03.2026 um 10:00 schrieb Hans Müller <h@x.de>:\n\n> Bitte genehmigen.",
	  "Genehmigt." },
	{ "french", "D'accord.\n\nLe mar. 3 mars 2026 à 10:00, Jean Dupont <j@x.fr> a écrit :\n> Merci de valider.",
	  "D'accord." },
	{ "french, no-break space", "ok\n\nLe mar. 3 mars 2026, Jean <j@x.fr> a écrit\xc2\xa0:\n\n> x", "ok" },
	{ "spanish", "De acuerdo.\n\nEl mar, 3 mar 2026 a las 10:00, Juan Pérez (<j@x.es>) escribió:\n> Por favor.",
	  "De acuerdo." },
	{ "italian",
	  "Va bene.\n\nIl giorno mar 3 mar 2026 alle ore 10:00 Giovanni Rossi <g@x.it> ha scritto:\n> Si prega.",
	  "Va bene." },
	{ "dutch", "Akkoord.\n\nOp di 3 mrt 2026 om 10:00 schreef Jan de Vries <j@x.nl>:\n> Graag goedkeuren.",
	  "Akkoord." },
	{ "portuguese", "Aprovado.\n\nEm ter., 3 de mar. de 2026 às 10:00, Ana Souza <a@x.br> escreveu:\n> Por favor.",
	  "Aprovado." },
	{ "swedish", "Godkänt.\n\nDen tis 3 mars 2026 kl 10:00 skrev Sven Svensson <s@x.se>:\n> Godkänn gärna.",
	  "Godkänt." },
	{ "norwegian", "Godkjent.\n\ntir. 3. mar. 2026 kl. 10:00 skrev Ola Nordmann <ola@x.no>:\n> Godkjenn.",
	  "Godkjent." },
	{ "danish", "Godkendt.\n\nDen tir. 3. mar. 2026 kl. 10.00 skrev Jens Jensen <j@x.dk>:\n> Godkend.",
	  "Godkendt." },
	{ "finnish", "Hyväksytty.\n\nti 3.3.2026 klo 10.00 Matti Meikäläinen (matti@x.fi) kirjoitti:\n> Hyväksy.",
	  "Hyväksytty." },
	{ "polish", "Zatwierdzam.\n\nwt., 3 mar 2026 o 10:00 Jan Kowalski <jan@x.pl> napisał(a):\n> Proszę.",
	  "Zatwierdzam." },
	{ "russian, gmail", "Согласовано.\n\nвт, 3 мар. 2026 г. в 10:00, Иван Петров <ivan@x.ru>:\n> Прошу.",
	  "Согласовано." },
	{ "russian, outlook", "Согласовано.\n\n03.03.2026 10:00, Иван Петров написал(а):\n> Прошу.", "Согласовано." },
	{ "russian, android wrapped",
	  "Hello\n02.04.2012 14:20 пользователь \"bob@x.org\" <\nbob@x.org> написал:\n\n> Hi\n", "Hello" },
	{ "ukrainian", "Погоджено.\n\nвт, 3 бер. 2026 р. о 10:00 Тарас Шевченко <t@x.ua> написав(ла):\n> Прошу.",
	  "Погоджено." },
	{ "chinese", "同意。\n\n张三 <z@x.cn> 于2026年3月3日周二 10:00写道：\n> 请批准。", "同意。" },
	{ "chinese, 在", "同意。\n\n在 2026年3月3日 10:00，张三 写道:\n> 请批准。", "同意。" },
	{ "japanese, gmail", "承認します。\n\n2026年3月3日(火) 10:00 山田太郎 <taro@x.jp>:\n> お願いします。",
	  "承認します。" },
	{ "japanese, のメッセージ", "承認します。\n\n2026/03/03 10:00、山田太郎 <taro@x.jp> のメッセージ:\n\n> お願いします。",
	  "承認します。" },
	{ "japanese, さんは書きました", "承認します。\n\n2026/03/03 10:00 に 山田さんは書きました:\n> お願いします。",
	  "承認します。" },
	{ "japanese, wrote", "承認します。\n\n2026/03/03 10:00, Taro Yamada <taro@x.jp> wrote:\n> お願いします。",
	  "承認します。" },
	{ "mail.ru", "Hi.\n\nThu, 26 Jun 2014 14:00:51 +0400 от Alexander L <abc@x.org>:\n> Hello!", "Hi." },
	{ "yandex", "Hi.\n\n26.06.2014, 14:41, \"Alexander L\" <abc@x.org>:\n> Hello!", "Hi." },
	/* no quote below: the original follows unquoted */
	{ "german, unquoted original", "ok\n\nAm 03.03.2026 um 10:00 schrieb Hans <h@x.de>:\n\nalter Text", "ok" },
	{ "polish, unquoted original", "ok\nwt., 3 mar 2026 o 10:00 Jan <jan@x.pl> napisał(a):\nstary tekst", "ok" },
	{ "chinese, unquoted original", "好的\n\n在 2026年3月3日 10:00，张三 写道：\n原文", "好的" },
};

/* Header blocks with the original below, unquoted. */
static const struct row header_rows[] = {
	{ "english, outlook",
	  "APPROVE\n\nFrom: Jane Roe <jane@x.gov>\nSent: Tuesday, March 3, 2026 10:00 AM\nTo: CGEN <cgen@x.gov>\n"
	  "Subject: RE: CGEN-2026-0042\n\nPlease approve.\n",
	  "APPROVE" },
	{ "english, To before Sent", "APPROVE\nFrom: a\nTo: b\nCc: c\nSent: today\nSubject: s\nold", "APPROVE" },
	{ "english, wrapped To", "APPROVE\nFrom: a\nTo: b;\n c; d\nSent: today\nold", "APPROVE" },
	{ "english, Date first (windows live)", "ok\n\nDate: Thu, 26 Jun 2014\nSubject: Test\nFrom: a@x.org\nTo: b\n\nold",
	  "ok" },
	{ "english, bold", "APPROVE\n\n*From:* Google <g@x.org>\n*Sent:* Thursday, February 09, 2012 1:36 PM\n*To:* a@x.org\n",
	  "APPROVE" },
	{ "english, rule above is dropped", "APPROVE\n\n\n ------------------------------\n\n*From:* a\n*Sent:* b\n",
	  "APPROVE" },
	{ "english, outlook web underscores",
	  "APPROVE\n________________________________\nFrom: CRM <crm@x.org>\nSent: Friday\nold\n", "APPROVE" },
	{ "english, header block above a quote", "ok\n\nFrom: a\nSent: b\nTo: c\nSubject: d\n\n> old", "ok" },
	{ "german", "ok\n\nVon: Hans <h@x.de>\nGesendet: Dienstag, 3. März 2026 10:00\nAn: b\nBetreff: AW: x\n\nalt",
	  "ok" },
	{ "french", "ok\n\nDe : Jean <j@x.fr>\nEnvoyé : mardi 3 mars 2026 10:00\nÀ : b\nObjet : RE: x\n\nancien",
	  "ok" },
	{ "spanish", "ok\n\nDe: Juan <j@x.es>\nEnviado: martes, 3 de marzo de 2026 10:00\nPara: b\nAsunto: RE: x\n",
	  "ok" },
	{ "italian", "ok\n\nDa: Gio <g@x.it>\nInviato: martedì 3 marzo 2026 10:00\nA: b\nOggetto: R: x\n", "ok" },
	{ "dutch", "ok\nVan: Jan\nVerzonden: dinsdag 3 maart 2026 10:00\nAan: b\nOnderwerp: RE: x\n", "ok" },
	{ "swedish", "ok\nFrån: Sven\nSkickat: den 3 mars 2026 10:00\nTill: b\nÄmne: SV: x\n", "ok" },
	{ "norwegian and danish", "ok\n\nFra: Jens <j@x.dk>\nSendt: 3. marts 2026 10:00\nTil: b\nEmne: SV: x\n", "ok" },
	{ "finnish", "ok\n\nLähettäjä: Matti\nLähetetty: tiistai 3. maaliskuuta 2026 10.00\nVastaanottaja: b\nAihe: x\n",
	  "ok" },
	{ "polish", "ok\n\nOd: Jan\nWysłano: wtorek, 3 marca 2026 10:00\nDo: b\nTemat: x\n", "ok" },
	{ "russian", "ok\n\nОт: Иван\nОтправлено: 3 марта 2026 г. 10:00\nКому: b\nТема: x\n", "ok" },
	{ "ukrainian", "ok\n\nВід: Тарас\nНадіслано: 3 березня 2026 р. 10:00\nКому: b\nТема: x\n", "ok" },
	{ "chinese", "好的\n\n发件人: 张三 <z@x.cn>\n发送时间: 2026年3月3日 10:00\n收件人: b\n主题: x\n", "好的" },
	{ "chinese, full-width colon", "好的\n\n发件人：张三\n发送时间：2026年3月3日 10:00\n主题：x\n", "好的" },
	{ "japanese", "承認します。\n\n差出人: 山田太郎 <taro@x.jp>\n送信日時: 2026年3月3日 10:00\n宛先: b\n件名: x\n",
	  "承認します。" },
};

/* Original-message and forwarded-message separators. */
static const struct row separator_rows[] = {
	{ "english", "DENY too costly\n\n-----Original Message-----\nFrom: a\nAPPROVE\n", "DENY too costly" },
	{ "english, spaced", "DENY x\n----- Original Message -----\nold\n", "DENY x" },
	{ "german", "ok\n\n-----Ursprüngliche Nachricht-----\nalt", "ok" },
	{ "french", "ok\n\n-----Message d'origine-----\nancien", "ok" },
	{ "spanish", "ok\n\n-----Mensaje original-----\nantiguo", "ok" },
	{ "italian", "ok\n\n-----Messaggio originale-----\nvecchio", "ok" },
	{ "dutch", "ok\n\n-----Oorspronkelijk bericht-----\noud", "ok" },
	{ "swedish", "ok\n\n-----Ursprungligt meddelande-----\ngammal", "ok" },
	{ "norwegian", "ok\n\n-----Opprinnelig melding-----\ngammel", "ok" },
	{ "danish", "ok\n\n-----Oprindelig meddelelse-----\ngammel", "ok" },
	{ "finnish", "ok\n\n-----Alkuperäinen viesti-----\nvanha", "ok" },
	{ "polish", "ok\n\n-----Wiadomość oryginalna-----\nstara", "ok" },
	{ "russian", "ok\n\n-----Исходное сообщение-----\nстарое", "ok" },
	{ "chinese", "好的\n\n------------------ 原始邮件 ------------------\n旧", "好的" },
	{ "japanese", "承認します。\n\n-----元のメッセージ-----\n古い", "承認します。" },
	{ "portuguese", "ok\n\n-----Mensagem original-----\nantiga", "ok" },
	{ "directly below the text", "ok\n-----Original Message-----\nold", "ok" },
	{ "above a quote", "ok\n\n-----Original Message-----\n> old", "ok" },
	{ "apple mail forward", "FYI\n\nBegin forwarded message:\n\nFrom: a\nSubject: s\n\nbody", "FYI" },
	{ "gmail forward", "FYI\n\n---------- Forwarded message ---------\nFrom: a\nDate: b\n\nbody", "FYI" },
	{ "german forward", "FYI\n\n---------- Weitergeleitete Nachricht ----------\nVon: a\n\nText", "FYI" },
	{ "german apple forward", "FYI\n\nAnfang der weitergeleiteten Nachricht:\n\nVon: a\n", "FYI" },
	{ "french forward", "FYI\n\n-------- Message transféré --------\nSujet : s\n", "FYI" },
	{ "spanish forward", "FYI\n\n---------- Mensaje reenviado ---------\nDe: a\n", "FYI" },
	{ "russian forward", "FYI\n\n-------- Пересылаемое сообщение --------\nОт: a\n", "FYI" },
	{ "forward with no note", "---------- Forwarded message ---------\nFrom: a\nDate: b\n\nbody", "" },
};

/* Signatures: "-- " and the mobile footers. */
static const struct row signature_rows[] = {
	{ "dash dash space", "APPROVE\n\n-- \nJane Roe\nAIO", "APPROVE" },
	{ "dash dash, no blank line", "APPROVE\n--\nJane", "APPROVE" },
	{ "sign-off after a blank line", "APPROVE\n\n-Jane Roe\n", "APPROVE" },
	{ "dash list item is text", "Items:\n\n-2 routers at 1 Main St", NULL },
	/* Above quoted history a "-- " block or a device line stays (talon's
	 * sparrow and iphone replies); a bare sign-off does not (email_1_3). */
	{ "signature then quote", "ok\n\n-- \nJane\n\nOn Mon, Apr 2, 2012, Megan <m@x.org> wrote:\n> x",
	  "ok\n\n-- \nJane" },
	{ "sign-off then quote", "ok\n\n-Jane\n\nOn Mon, Apr 2, 2012, Megan <m@x.org> wrote:\n> x", "ok" },
	{ "sent from my iphone", "APPROVE\n\nSent from my iPhone\n\n> On Mar 3, 2026, at 10:00, J <j@x.org> wrote:\n> x\n",
	  "APPROVE\n\nSent from my iPhone" },
	{ "several words", "ok\n\nSent from my Verizon Wireless BlackBerry", "ok" },
	{ "no blank line, full stop", "ok\nSent from my mobile device.", "ok" },
	{ "sent from my, as prose", "ok\n\nSent from my desk, is much easier then my mobile phone.", NULL },
	{ "outlook mobile", "ok\n\nGet Outlook for iOS\n", "ok" },
	{ "outlook android", "ok\nGet Outlook for Android", "ok" },
	{ "mail for windows", "ok\n\nSent from Mail for Windows 10\n", "ok" },
	{ "yahoo mail", "ok\n\nSent from Yahoo Mail on Android\n", "ok" },
	{ "german", "ok\n\nVon meinem iPhone gesendet\n", "ok" },
	{ "german, samsung", "ok\n\nVon meinem Samsung Galaxy Smartphone gesendet", "ok" },
	{ "french", "ok\n\nEnvoyé de mon iPhone", "ok" },
	{ "spanish", "ok\n\nEnviado desde mi iPhone", "ok" },
	{ "italian", "ok\n\nInviato da iPhone", "ok" },
	{ "dutch", "ok\n\nVerzonden vanaf mijn iPhone", "ok" },
	{ "swedish", "ok\n\nSkickat från min iPhone", "ok" },
	{ "norwegian and danish", "ok\n\nSendt fra min iPhone", "ok" },
	{ "finnish", "ok\n\nLähetetty iPhonesta", "ok" },
	{ "polish", "ok\n\nWysłane z iPhone'a", "ok" },
	{ "russian", "ok\n\nОтправлено с iPhone", "ok" },
	{ "chinese", "好的\n\n发自我的iPhone", "好的" },
	{ "japanese", "承認します。\n\niPhoneから送信", "承認します。" },
	{ "signature in the middle is kept", "ok\n\n-- \nJane\n> q\nmore", NULL },
};

/* Quoted history of the issue "Requests and replies as people really write
 * them": none of it is visible. */
static const struct row history_rows[] = {
	{ "pipe prefix", "APPROVE\n\n| From: CGEN\n| Subject: x\n|\n| APPROVE or REJECT\n", "APPROVE" },
	{ "supercite prefix", "APPROVE\n\nC> REJECT something\nC> more\n", "APPROVE" },
	{ "supercite initials, nested", "ok\n\nJD>> REJECT\nJD> x", "ok" },
	{ "a > inside a word is text", "a>b is true\nx", NULL },
	{ "gmail attribution over three lines (mailto, > wrote:)",
	  "APPROVE looks fine\n\nOn Sat, Dec 5, 2026 at 6:41 AM, Ana Ruiz <\nmailto:aio@water.ca.gov\n> wrote:\n> REJECT x\n",
	  "APPROVE looks fine" },
	{ "gmail attribution, address then <mailto:> on the next line",
	  "APPROVE\n\nOn Sat, Dec 5, 2026 at 6:41 AM CGEN <cgen@cdt.ca.gov\n<mailto:cgen@cdt.ca.gov>> wrote:\n\n> REJECT\n",
	  "APPROVE" },
	{ "a > line under an attribution without an open < is the quote",
	  "APPROVE\n\nOn Sat, Dec 5, 2026 at 6:41 AM CGEN <cgen@cdt.ca.gov> wrote:\n> REJECT", "APPROVE" },
	{ "decorated original-message separator",
	  "APPROVE\n\n*-------- Original Message --------*\nFrom: CGEN\nSubject: x\n\nREJECT y\n", "APPROVE" },
	{ "decorated forward separator",
	  "FYI\n\n*---------- Forwarded message ---------*\nFrom: a\n\nAPPROVE", "FYI" },
	{ "date-first attribution", "APPROVE\n\n2016-03-03 17:21 GMT+01:00 CGEN <cgen@cdt.ca.gov>:\n\n> REJECT y\n",
	  "APPROVE" },
	{ "date-first attribution, no quote below",
	  "APPROVE\n\n2016-03-03 17:21 GMT+01:00 CGEN <cgen@cdt.ca.gov>:\nREJECT y\n", "APPROVE" },
	{ "date-first attribution wrapped after <",
	  "APPROVE\n\n2016-03-03 17:21 GMT+01:00 CGEN Exemptions Long Name <\ncgen@cdt.ca.gov>:\n\n> REJECT y\n",
	  "APPROVE" },
	{ "italian outlook block with Risposta:",
	  "APPROVE\n\nDa: CGEN Exemptions [mailto:cgen@cdt.ca.gov]\nRisposta: cgen+abc@cdt.ca.gov\n"
	  "Data: sabato 5 dicembre 2026 06:41\nA: Ana\nOggetto: [CGEN] x\n\nREJECT y\n", "APPROVE" },
	{ "italian outlook block, Inviato", "APPROVE\n\nDa: CGEN\nInviato: sabato 5 dicembre 2026 06:41\n"
	  "A: Ana\nRispondi a: cgen+abc@cdt.ca.gov\nOggetto: x\n\nREJECT y", "APPROVE" },
	{ "danish ipad line", "APPROVE\n\nSendt fra min iPad\n\nREJECT y\n", "APPROVE" },
	{ "danish ipad line, then a quote", "Approved\n\nSendt fra min iPad\n\n> Den 5. dec. 2026 kl. 06.41 skrev "
	  "CGEN <cgen@cdt.ca.gov>:\n> REJECT y\n", "Approved\n\nSendt fra min iPad" },
};

static void test_history(void **state)
{
	(void)state;
	check_rows(history_rows, ARRAY_LEN(history_rows));
}

/* Where the sender's signature starts (visible_signature_at): "" is the
 * text with no signature, else the text from the signature's first line. */
static void test_signature_at(void **state)
{
	(void)state;
	static const struct {
		const char *text, *name, *addr, *sig;
	} rows[] = {
		{ "Approved.\n\nAna Ruiz\nAgency Information Officer\nDepartment of Water Resources",
		  "Ruiz, Ana@DWR", "aio@water.ca.gov", "Ana Ruiz\n" },
		{ "APPROVE\n\nChris Wu\nChief Information Officer", "Wu, Chris@DWR", "cio@water.ca.gov", "Chris Wu\n" },
		{ "Hi team,\n\nAPPROVE\n\nThanks,\nChris", NULL, NULL, "Thanks,\n" },
		{ "INFO Can you send the signed quote?\n\nThanks,\nRevi Ewer\nCDT Network Services", NULL, NULL,
		  "Thanks,\n" },
		{ "Hi,\n\nSigned quote attached.\n\nDana", "Dana Lee", "dana.lee@water.ca.gov", "Dana" },
		{ "Hi,\n\nSigned quote attached.\n\ndana", NULL, "dana.lee@water.ca.gov", "dana" },
		{ "APPROVE - looks good\n\n-Chris", NULL, NULL, "-Chris" },
		{ "APPROVE\n\nBest regards, Ana\n(916) 555-0142", NULL, NULL, "Best regards, Ana\n" },
		{ "APPROVE\nSent from my iPhone", NULL, NULL, "Sent from my iPhone" },
		{ "APPROVE\n\n-- \nJane", NULL, NULL, "-- \n" },
		{ "APPROVE\n\nCONFIDENTIALITY NOTICE: this e-mail is for its addressee only.", NULL, NULL,
		  "CONFIDENTIALITY NOTICE" },
		{ "APPROVE\n\nThis e-mail and any attachments are confidential.", NULL, NULL, "This e-mail" },
		/* not signatures */
		{ "APPROVE\nFirst condition.\nSecond condition.", NULL, NULL, "" },
		{ "APPROVE\n\nThanks!\n\nThe signed quote is attached, please file it with the case.", NULL, NULL, "" },
		{ "APPROVE\n\nThanks for the quick turnaround on this one.", NULL, NULL, "" },
		{ "Thanks,\nDana", "Dana Lee", NULL, "Dana" }, /* the first line never is one */
		{ "APPROVE\n\nDana\nCan you also check the other site?", "Dana Lee", NULL, "" },
		{ "APPROVE\n\nin 2027", NULL, NULL, "" },
		{ "", NULL, NULL, "" },
		{ "APPROVE\n\n> Thanks,\n> Dana", "Dana Lee", NULL, "" },
		{ "APPROVE\n\nThanks,\nAna\n\nOn Sat, Dec 5, 2026 at 6:41 AM CGEN <c@x.gov> wrote:\n> x", NULL, NULL,
		  "Thanks,\n" },
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		size_t at = visible_signature_at(rows[i].text, rows[i].name, rows[i].addr);
		size_t len = strlen(rows[i].text), k = strlen(rows[i].sig);
		int ok = k == 0 ? at == len : at < len && strncmp(rows[i].text + at, rows[i].sig, k) == 0;
		if (!ok)
			fail_msg("row %zu \"%s\": signature at \"%s\", want \"%s\"", i, rows[i].text,
				 rows[i].text + at, rows[i].sig);
	}
}

static void test_is_quote(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		int want;
	} rows[] = {
		{ "> a", 1 }, { "  >a", 1 }, { "| a", 1 }, { "|", 1 }, { "C> a", 1 }, { "JD>> a", 1 },
		{ "ABCD> a", 1 }, { "ABCDE> a", 0 }, { "a>b", 0 }, { "APPROVE", 0 }, { "", 0 }, { "-> x", 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		if (visible_is_quote(rows[i].line, strlen(rows[i].line)) != rows[i].want)
			fail_msg("\"%s\": want %d", rows[i].line, rows[i].want);
}

static void test_basic(void **state)
{
	(void)state;
	check_rows(basic_rows, ARRAY_LEN(basic_rows));
}

static void test_attributions(void **state)
{
	(void)state;
	check_rows(attribution_rows, ARRAY_LEN(attribution_rows));
}

static void test_header_blocks(void **state)
{
	(void)state;
	check_rows(header_rows, ARRAY_LEN(header_rows));
}

static void test_separators(void **state)
{
	(void)state;
	check_rows(separator_rows, ARRAY_LEN(separator_rows));
}

static void test_signatures(void **state)
{
	(void)state;
	check_rows(signature_rows, ARRAY_LEN(signature_rows));
}

static void test_is_attribution(void **state)
{
	(void)state;
	static const struct {
		const char *line;
		int want;
	} rows[] = {
		{ "On Tue, Mar 3, 2026 at 10:00 AM John Doe <j@x.org> wrote:", 1 },
		{ "Am 03.03.2026 um 10:00 schrieb Hans <h@x.de>:", 1 },
		{ "03.03.2026 10:00, Иван Петров написал(а):", 1 },
		{ "2026年3月3日(火) 10:00 山田太郎 <taro@x.jp>:", 1 },
		{ "John wrote:", 1 },
		{ "APPROVE", 0 },
		{ "Please write to me:", 0 },
		{ "From: a@x.org", 0 },
		{ "", 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++)
		if (visible_is_attribution(rows[i].line, strlen(rows[i].line)) != rows[i].want)
			fail_msg("\"%s\": want %d", rows[i].line, rows[i].want);
	/* the length bounds the line, not a NUL */
	assert_int_equal(visible_is_attribution("John wrote: and more", 11), 1);
}

static void test_subject(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "Re: budget", "budget" },
		{ "RE: Fwd: budget", "budget" },
		{ "Fw: budget", "budget" },
		{ "FWD: budget", "budget" },
		{ "AW: WG: budget", "budget" },
		{ "SV: VS: budget", "budget" },
		{ "Antw: Doorst: budget", "budget" },
		{ "Réf : budget", "budget" },
		{ "Rif: budget", "budget" },
		{ "Enc: budget", "budget" },
		{ "Odp: budget", "budget" },
		{ "RV: budget", "budget" },
		{ "TR: budget", "budget" },
		{ "回复：预算", "预算" },
		{ "答复: 预算", "预算" },
		{ "转发：预算", "预算" },
		{ "回覆: 預算", "預算" },
		{ "Re[2]: budget", "budget" },
		{ "Re(3): budget", "budget" },
		{ "re:budget", "budget" },
		{ "  Re:   Re :  budget  ", "budget" },
		{ "[EXTERNAL] Re: budget", "budget" },
		{ "RE: [External] budget", "budget" },
		{ "*EXTERNAL* RE: budget", "budget" },
		{ "[EXT] budget", "budget" },
		{ "Re: [CGEN-2026-0042] Request", "[CGEN-2026-0042] Request" },
		{ "Report: Re: budget", "Report: Re: budget" },
		{ "Trip: budget", "Trip: budget" },
		{ "Rebudget", "Rebudget" },
		{ "Re: ", "" },
		{ "", "" },
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		char *got = subject_strip_prefixes(rows[i].in);
		if (strcmp(got, rows[i].out) != 0)
			fail_msg("\"%s\": got \"%s\", want \"%s\"", rows[i].in, got, rows[i].out);
		free(got);
	}
	char *got = subject_strip_prefixes(NULL);
	assert_string_equal(got, "");
	free(got);
}

/* --- the email_reply_parser corpus --- */

static char *corpus_dir(void)
{
	const char *top = getenv("top_srcdir");
	if (!top)
		return NULL;
	char *dir = xasprintf("%s/../shared/corpora/email_reply_parser", top);
	DIR *d = opendir(dir);
	if (!d) {
		free(dir);
		return NULL;
	}
	closedir(d);
	return dir;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	assert_false(ferror(f));
	fclose(f);
	return b.s ? buf_steal(&b) : xstrdup("");
}

/* Every fixture's visible text equals the reference's, byte for byte. */
static void test_corpus(void **state)
{
	(void)state;
	char *dir = corpus_dir();
	if (!dir)
		skip();
	char *exp_dir = xasprintf("%s/expected_visible", dir);
	DIR *d = opendir(exp_dir);
	assert_non_null(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name), suf = strlen(".visible.txt");
		if (len <= suf || strcmp(e->d_name + len - suf, ".visible.txt") != 0)
			continue;
		char *name = xstrndup(e->d_name, len - suf);
		char *mail_path = xasprintf("%s/emails/%s.txt", dir, name);
		char *exp_path = xasprintf("%s/%s", exp_dir, e->d_name);
		char *mail = slurp(mail_path), *expected = slurp(exp_path);
		char *vis = visible_text(mail);
		if (strcmp(vis, expected) != 0)
			fail_msg("%s: got \"%s\", reference \"%s\"", name, vis, expected);
		n++;
		free(vis);
		free(mail);
		free(expected);
		free(mail_path);
		free(exp_path);
		free(name);
	}
	closedir(d);
	assert_int_equal(n, 21);
	free(exp_dir);
	free(dir);
}

static double seconds_for(const char *mail, char **out)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	*out = visible_text(mail);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

/* Guards against catastrophic backtracking, not a benchmark. */
static void test_corpus_time(void **state)
{
	(void)state;
	char *dir = corpus_dir();
	if (!dir)
		skip();
	char *path = xasprintf("%s/emails/pathological.txt", dir);
	char *mail = slurp(path), *vis;
	double t = seconds_for(mail, &vis);
	printf("# pathological.txt: %.4f s\n", t);
	assert_true(t < 1.0);
	assert_string_equal(vis, "I think you're onto something. I will try to fix the problem as soon as I\n"
				 "get back to a computer.");
	free(vis);
	free(mail);
	free(path);

	/* No expected file: EXPECTED.md gives its length and its pieces. */
	path = xasprintf("%s/emails/email_long_quote.txt", dir);
	mail = slurp(path);
	assert_true(strlen(mail) > 700000);
	t = seconds_for(mail, &vis);
	printf("# email_long_quote.txt: %.4f s\n", t);
	assert_true(t < 1.0);
	assert_int_equal(strlen(vis), 766715);
	const char *head = "Hi folks\n\nWhat is the best way to clear a Riak bucket of all key, values after\n"
			   "running a test?\n>>>";
	const char *tail = "\nI am currently using the Java HTTP API.";
	assert_memory_equal(vis, head, strlen(head));
	assert_string_equal(vis + strlen(vis) - strlen(tail), tail);
	assert_non_null(strstr(vis, "\nasdf\nA>>>"));
	free(vis);
	free(mail);
	free(path);
	free(dir);
}

/* A 1 MB line that almost looks like an attribution or a header. */
static void test_long_lines(void **state)
{
	(void)state;
	static const char *const heads[] = { "On ", "From: ", "Sent from my ", "Am ", "ok\nOn " };
	for (size_t i = 0; i < ARRAY_LEN(heads); i++) {
		struct buf b = { 0 };
		buf_adds(&b, heads[i]);
		for (size_t k = 0; k < 100000; k++)
			buf_adds(&b, "wrote: a ");
		buf_adds(&b, "\n> q\n");
		char *in = buf_steal(&b), *vis;
		double t = seconds_for(in, &vis);
		assert_true(t < 1.0);
		assert_true(strlen(vis) > 900000);
		free(vis);
		free(in);
	}
	/* Just under the attribution length limit: many candidate verbs. */
	struct buf b = { 0 };
	buf_adds(&b, "Am ");
	for (size_t k = 0; k < 120; k++)
		buf_adds(&b, "schrieb ");
	char *line = xstrndup(b.s, b.len - 1);
	buf_adds(&b, "\n> q\n");
	char *in = buf_steal(&b), *vis;
	assert_true(seconds_for(in, &vis) < 1.0);
	assert_string_equal(vis, line);
	free(vis);
	free(in);
	free(line);
	/* Many header-looking lines: linear. */
	b = (struct buf){ 0 };
	buf_adds(&b, "ok\n");
	for (size_t k = 0; k < 20000; k++)
		buf_adds(&b, "To: a\n\n");
	buf_adds(&b, "> q\n");
	in = buf_steal(&b);
	assert_true(seconds_for(in, &vis) < 2.0);
	assert_string_equal(vis, "ok");
	free(vis);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_signature_at),
		cmocka_unit_test(test_is_quote),
		cmocka_unit_test(test_attributions),
		cmocka_unit_test(test_header_blocks),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_is_attribution),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_corpus_time),
		cmocka_unit_test(test_long_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
