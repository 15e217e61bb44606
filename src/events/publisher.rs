//! Where the relay delivers events: Kafka (an idempotent producer) or, without brokers, the log.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::store::OutboxEvent;

/// Why an event was not delivered. The relay keeps it in the outbox and tries again.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("the broker did not acknowledge within {0:?}")]
    Timeout(Duration),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
}

/// Delivers one event; `Ok` means the destination has it durably (for Kafka: acks=all).
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug + 'static {
    async fn publish(&self, event: &OutboxEvent) -> Result<(), PublishError>;

    /// Waits for anything still in flight, at shutdown.
    async fn flush(&self, timeout: Duration);
}

/// Without Kafka: each event is written to the log (without the person's data) and counts as
/// delivered, so the outbox does not grow.
#[derive(Debug, Default)]
pub struct LogPublisher;

#[async_trait]
impl Publisher for LogPublisher {
    async fn publish(&self, event: &OutboxEvent) -> Result<(), PublishError> {
        if !tracing::enabled!(tracing::Level::INFO) {
            // Nothing would be written: skip parsing the event (it showed in profiles).
            return Ok(());
        }
        match serde_json::from_str::<EventSummary<'_>>(&event.payload) {
            // No reference and no person: the log is read by more people than the topic.
            Ok(summary) => tracing::info!(
                event_type = summary.event_type,
                event_id = summary.event_id,
                centre = %event.key,
                date = summary.slot.date,
                window = summary.slot.window,
                "booking event (KAFKA_BROKERS is not set, so it goes to the log only)"
            ),
            Err(error) => tracing::warn!(
                %error,
                centre = %event.key,
                "a booking event in the outbox cannot be read; it is dropped from the log"
            ),
        }
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) {}
}

/// What the log shows of an event.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventSummary<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    event_id: &'a str,
    slot: SlotSummary<'a>,
}

#[derive(serde::Deserialize)]
struct SlotSummary<'a> {
    date: &'a str,
    window: &'a str,
}

/// How to reach Kafka.
#[derive(Debug, Clone)]
pub struct KafkaOptions {
    pub brokers: String,
    pub topic: String,
    /// librdkafka's own retry budget per message; past it the relay retries from the outbox.
    pub message_timeout: Duration,
    /// Used when the relay has to create the topic (first start, or a broker that came back empty).
    pub partitions: i32,
    pub replication: i32,
}

/// Routes librdkafka's own messages into `tracing`. While a broker is away librdkafka reports
/// every failed connection attempt, about once a second per broker; those go to debug, since
/// the relay already reports the outage (with backoff) and the outbox backlog shows it.
#[derive(Debug, Clone, Copy, Default)]
pub struct KafkaLog;

impl ClientContext for KafkaLog {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        let serious = matches!(
            level,
            RDKafkaLogLevel::Emerg
                | RDKafkaLogLevel::Alert
                | RDKafkaLogLevel::Critical
                | RDKafkaLogLevel::Error
                | RDKafkaLogLevel::Warning
        );
        if serious && facility != "FAIL" {
            tracing::warn!(target: "librdkafka", facility, "{message}");
        } else {
            tracing::debug!(target: "librdkafka", facility, "{message}");
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown) => {
                tracing::debug!(target: "librdkafka", %error, reason);
            }
            _ => tracing::warn!(target: "librdkafka", %error, reason),
        }
    }
}

type LoggedProducer = FutureProducer<KafkaLog>;

/// The producer in use and how many times it has been replaced, so that many deliveries failing
/// together replace it once.
#[derive(Clone)]
struct Current {
    producer: LoggedProducer,
    generation: u64,
}

/// An idempotent producer (acks=all, enable.idempotence). It is replaced by a fresh one when
/// its state is no use any more: a fatal error, or a broker that no longer knows its producer id
/// or sequence numbers (it came back empty), or deliveries that timed out (librdkafka would
/// otherwise keep retrying them with the stale producer id).
pub struct KafkaPublisher {
    options: KafkaOptions,
    current: RwLock<Current>,
    admin: Arc<AdminClient<KafkaLog>>,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl KafkaPublisher {
    pub fn new(options: KafkaOptions) -> Result<Self, PublishError> {
        let producer = Self::producer(&options)?;
        let admin = Arc::new(Self::client_config(&options).create_with_context(KafkaLog)?);
        Ok(Self {
            current: RwLock::new(Current {
                producer,
                generation: 0,
            }),
            admin,
            options,
        })
    }

    fn client_config(options: &KafkaOptions) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &options.brokers)
            .set("socket.timeout.ms", "10000")
            .set("reconnect.backoff.max.ms", "2000");
        config
    }

    fn producer(options: &KafkaOptions) -> Result<LoggedProducer, KafkaError> {
        Self::client_config(options)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set(
                "message.timeout.ms",
                options.message_timeout.as_millis().to_string(),
            )
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .create_with_context(KafkaLog)
    }

    fn current(&self) -> Option<Current> {
        self.current.read().ok().map(|c| c.clone())
    }

    /// Replaces the producer that failed, unless another delivery already did, and makes sure
    /// the topic exists: a broker that came back empty has neither this producer's id nor the
    /// topic, and librdkafka only waits for a missing topic to appear (the deliveries time out).
    fn recover(&self, failed: &Current, why: &str) {
        let fresh = match Self::producer(&self.options) {
            Ok(fresh) => fresh,
            Err(error) => {
                tracing::warn!(%error, "cannot build a new kafka producer yet");
                return;
            }
        };
        let Ok(mut current) = self.current.write() else {
            return;
        };
        if current.generation != failed.generation {
            return;
        }
        tracing::warn!(why, "replacing the kafka producer");
        let old = std::mem::replace(
            &mut *current,
            Current {
                producer: fresh,
                generation: failed.generation + 1,
            },
        );
        drop(current);
        // Dropping a producer purges and briefly flushes it: not on an async worker.
        tokio::task::spawn_blocking(move || drop(old));
        let (admin, options) = (Arc::clone(&self.admin), self.options.clone());
        tokio::spawn(async move {
            if let Err(error) = create_topic(&admin, &options).await {
                tracing::warn!(%error, "cannot make sure the Kafka topic exists yet");
            }
        });
    }

    /// Whether this delivery error means the producer's state is stale.
    fn stale_producer(producer: &LoggedProducer, error: &KafkaError) -> Option<&'static str> {
        if producer.client().fatal_error().is_some() {
            return Some("fatal error");
        }
        match error.rdkafka_error_code()? {
            RDKafkaErrorCode::UnknownProducerId
            | RDKafkaErrorCode::InvalidProducerIdMapping
            | RDKafkaErrorCode::InvalidProducerEpoch
            | RDKafkaErrorCode::ProducerFenced
            | RDKafkaErrorCode::OutOfOrderSequenceNumber => Some("the broker lost its state"),
            RDKafkaErrorCode::MessageTimedOut => Some("deliveries timed out"),
            RDKafkaErrorCode::UnknownTopicOrPartition => Some("the topic is gone"),
            _ => None,
        }
    }

    /// Creates the topic if the cluster does not have it (already existing is fine).
    pub async fn ensure_topic(&self) -> Result<(), PublishError> {
        create_topic(&self.admin, &self.options).await
    }
}

async fn create_topic(
    admin: &AdminClient<KafkaLog>,
    options: &KafkaOptions,
) -> Result<(), PublishError> {
    let topic = NewTopic::new(
        &options.topic,
        options.partitions,
        TopicReplication::Fixed(options.replication),
    );
    let admin_options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
    let results = tokio::time::timeout(
        Duration::from_secs(10),
        admin.create_topics([&topic], &admin_options),
    )
    .await
    .map_err(|_| PublishError::Timeout(Duration::from_secs(10)))??;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(KafkaError::AdminOp(code).into()),
        }
    }
    Ok(())
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, event: &OutboxEvent) -> Result<(), PublishError> {
        let Some(current) = self.current() else {
            return Err(KafkaError::Canceled.into());
        };
        let record = FutureRecord::to(&self.options.topic)
            .key(&event.key)
            .payload(&event.payload);
        let bound = self.options.message_timeout + Duration::from_secs(5);
        let sent =
            tokio::time::timeout(bound, current.producer.send(record, Duration::from_secs(1)))
                .await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => {
                if let Some(why) = Self::stale_producer(&current.producer, &error) {
                    self.recover(&current, why);
                }
                Err(error.into())
            }
            Err(_) => {
                self.recover(&current, "a delivery outlived its timeout");
                Err(PublishError::Timeout(bound))
            }
        }
    }

    async fn flush(&self, timeout: Duration) {
        if let Some(current) = self.current() {
            let _ = tokio::task::spawn_blocking(move || current.producer.flush(timeout)).await;
        }
    }
}
