//! The tracing layer that forwards events to `<peer>_log`.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::forwarder::Forwarder;

/// A [`Layer`] that turns every tracing event into one `LPUSH <peer>_log "level|message"`
/// (levels below the client's are dropped by the forwarder). The message is the event's message
/// followed by its other fields as ` name=value`; spans are not recorded. Sending never blocks:
/// lines are queued for the client's writer task. Public only through
/// [`MuleClient::tracing_layer`](crate::MuleClient::tracing_layer).
#[derive(Clone)]
pub(crate) struct MuleLayer {
    forwarder: Forwarder,
}

impl MuleLayer {
    pub(crate) fn new(forwarder: Forwarder) -> MuleLayer {
        MuleLayer { forwarder }
    }
}

impl<S: Subscriber> Layer<S> for MuleLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut message = MessageText::default();
        event.record(&mut message);
        self.forwarder
            .emit(*event.metadata().level(), &message.finish());
    }
}

/// Collects an event's `message` and its other fields into one line.
#[derive(Default)]
struct MessageText {
    message: String,
    fields: String,
}

impl MessageText {
    fn finish(mut self) -> String {
        if self.message.is_empty() {
            return self.fields.trim_start().to_owned();
        }
        self.message.push_str(&self.fields);
        self.message
    }
}

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `message` holds the format_args! of the event; its Debug form is the plain text.
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
