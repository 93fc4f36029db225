// GET / on the sidecar: the status page (sidecar/lib/status_page.h) with a
// Content-Security-Policy that allows its own inline style and script, by their SHA-256, and
// requests to the sidecar itself, and nothing else: no other script, font, image or origin.
#pragma once

#include "http_message.h"

namespace pulse::sidecar {

HttpResponse status_page_response();

}  // namespace pulse::sidecar
