//! Where the relay delivers events: Kafka (an idempotent producer) or, without brokers, the log.

use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
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
        let parsed: serde_json::Value = serde_json::from_str(&event.payload).unwrap_or_default();
        tracing::info!(
            event_type = %parsed["type"].as_str().unwrap_or("?"),
            event_id = %parsed["eventId"].as_str().unwrap_or("?"),
            reference = %parsed["reference"].as_str().unwrap_or("?"),
            centre = %event.key,
            date = %parsed["slot"]["date"].as_str().unwrap_or("?"),
            window = %parsed["slot"]["window"].as_str().unwrap_or("?"),
            "booking event (KAFKA_BROKERS is not set, so it goes to the log only)"
        );
        Ok(())
    }

    async fn flush(&self, _timeout: Duration) {}
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

/// An idempotent producer (acks=all, enable.idempotence), rebuilt when librdkafka reports a
/// fatal error — e.g. a broker that lost its state no longer knows this producer's id.
pub struct KafkaPublisher {
    options: KafkaOptions,
    producer: RwLock<FutureProducer>,
    admin: AdminClient<DefaultClientContext>,
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
        let admin = Self::client_config(&options).create()?;
        Ok(Self {
            producer: RwLock::new(producer),
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

    fn producer(options: &KafkaOptions) -> Result<FutureProducer, KafkaError> {
        Self::client_config(options)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set(
                "message.timeout.ms",
                options.message_timeout.as_millis().to_string(),
            )
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .create()
    }

    fn current(&self) -> Option<FutureProducer> {
        self.producer.read().ok().map(|p| p.clone())
    }

    /// Replaces a producer librdkafka has declared dead.
    fn rebuild_if_fatal(&self, producer: &FutureProducer) {
        if let Some((code, reason)) = producer.client().fatal_error() {
            tracing::warn!(?code, %reason, "kafka producer hit a fatal error; building a new one");
            match Self::producer(&self.options) {
                Ok(fresh) => {
                    if let Ok(mut slot) = self.producer.write() {
                        *slot = fresh;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot build a new kafka producer yet"),
            }
        }
    }

    /// Creates the topic if the cluster does not have it (already existing is fine).
    pub async fn ensure_topic(&self) -> Result<(), PublishError> {
        let topic = NewTopic::new(
            &self.options.topic,
            self.options.partitions,
            TopicReplication::Fixed(self.options.replication),
        );
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
        let results = tokio::time::timeout(
            Duration::from_secs(10),
            self.admin.create_topics([&topic], &options),
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
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, event: &OutboxEvent) -> Result<(), PublishError> {
        let Some(producer) = self.current() else {
            return Err(KafkaError::Canceled.into());
        };
        let record = FutureRecord::to(&self.options.topic)
            .key(&event.key)
            .payload(&event.payload);
        let bound = self.options.message_timeout + Duration::from_secs(5);
        let sent = tokio::time::timeout(bound, producer.send(record, Duration::from_secs(1))).await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((error, _))) => {
                if error.rdkafka_error_code() == Some(RDKafkaErrorCode::UnknownTopicOrPartition) {
                    // A broker that came back empty: give it the topic again.
                    if let Err(create) = self.ensure_topic().await {
                        tracing::warn!(error = %create, "cannot create the topic yet");
                    }
                }
                self.rebuild_if_fatal(&producer);
                Err(error.into())
            }
            Err(_) => {
                self.rebuild_if_fatal(&producer);
                Err(PublishError::Timeout(bound))
            }
        }
    }

    async fn flush(&self, timeout: Duration) {
        if let Some(producer) = self.current() {
            let _ = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
        }
    }
}
