/*
 * chat.h - internal header of src/chat: the public API lives in hearth.h; this
 * only gathers the includes the chat files share.
 */
#ifndef HEARTH_CHAT_CHAT_H
#define HEARTH_CHAT_CHAT_H

#include "hearth.h"
#include "util/util.h"

#endif
