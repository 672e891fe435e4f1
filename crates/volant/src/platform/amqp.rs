//! Jobs through RabbitMQ (`VOLANT_QUEUE_URL=amqp://…`), for installations that
//! spread work over many workers.
//!
//! The database stays the record: a job is still inserted with the change that
//! causes it, so nothing is lost if the broker is down. A relay in every
//! process claims due jobs (as the database workers do, under a lease owned by
//! `amqp`) and publishes their ids to a durable queue with publisher confirms;
//! consumers take ids from the queue, run the job, record its outcome in the
//! database, then acknowledge. A consumer that dies before acknowledging gets
//! its messages redelivered by RabbitMQ to another; a message the broker lost
//! comes back when its lease expires and the relay publishes it again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio_util::sync::CancellationToken;

use crate::platform::db::{Writer, statement};
use crate::platform::jobs::{self, ClaimedJob, Registry, WorkerOptions};

/// The lease owner of jobs handed to RabbitMQ.
pub const OWNER: &str = "amqp";

/// Where jobs go.
#[derive(Debug, Clone)]
pub struct Broker {
    pub url: String,
    /// The durable queue's name.
    pub queue: String,
}

async fn channel(broker: &Broker) -> Result<(Connection, Channel), lapin::Error> {
    let connection = Connection::connect(&broker.url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel.queue_declare(broker.queue.as_str().into(), QueueDeclareOptions::durable(), FieldTable::default()).await?;
    Ok((connection, channel))
}

/// Runs the relay and the consumers until `shutdown`; reconnects after a broker failure.
pub async fn run(
    db: DatabaseConnection,
    registry: Arc<Registry>,
    broker: Broker,
    options: WorkerOptions,
    shutdown: CancellationToken,
    drain: Duration,
) {
    tracing::info!(queue = %broker.queue, worker = %options.name, "jobs go through RabbitMQ");
    while !shutdown.is_cancelled() {
        let outcome = tokio::select! {
            outcome = session(&db, &registry, &broker, &options, &shutdown, drain) => outcome,
            () = shutdown.cancelled() => Ok(()),
        };
        if let Err(err) = outcome {
            tracing::error!(error = %err, "RabbitMQ connection lost; reconnecting in 5 s");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }
}

async fn session(
    db: &DatabaseConnection,
    registry: &Arc<Registry>,
    broker: &Broker,
    options: &WorkerOptions,
    shutdown: &CancellationToken,
    drain: Duration,
) -> Result<(), String> {
    let (_publisher_connection, publisher) = channel(broker).await.map_err(|e| e.to_string())?;
    publisher.confirm_select(ConfirmSelectOptions::default()).await.map_err(|e| e.to_string())?;
    let (_consumer_connection, consumer_channel) = channel(broker).await.map_err(|e| e.to_string())?;
    let prefetch = u16::try_from(options.concurrency).unwrap_or(u16::MAX);
    consumer_channel.basic_qos(prefetch, BasicQosOptions::default()).await.map_err(|e| e.to_string())?;
    let mut consumer = consumer_channel
        .basic_consume(
            broker.queue.as_str().into(),
            options.name.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let in_flight: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let mut running = tokio::task::JoinSet::new();
    let mut relay_tick = tokio::time::interval(options.poll);
    let mut schedule_tick = tokio::time::interval(Duration::from_secs(5));
    let mut heartbeat = tokio::time::interval(options.lease / 3);
    let mut offered = jobs::OfferedPeriods::new();
    let outcome = loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break Ok(()),
            _ = schedule_tick.tick() => {
                if let Err(err) = jobs::offer_schedules(db, registry, Utc::now(), &mut offered).await {
                    tracing::error!(error = %err, "offering scheduled jobs failed");
                }
            }
            _ = heartbeat.tick() => {
                let ids: Vec<i64> = in_flight.lock().map(|set| set.iter().copied().collect()).unwrap_or_default();
                if let Err(err) = extend(db, &ids, options.lease).await {
                    tracing::error!(error = %err, "extending job leases failed");
                }
            }
            _ = relay_tick.tick() => {
                if let Err(err) = relay(db, &publisher, broker, options.lease).await {
                    break Err(err);
                }
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
            delivery = consumer.next() => {
                let delivery = match delivery {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(err)) => break Err(err.to_string()),
                    None => break Err("the consumer was cancelled".to_owned()),
                };
                let (db, registry, in_flight) = (db.clone(), registry.clone(), in_flight.clone());
                running.spawn(async move { handle_delivery(&db, &registry, &in_flight, delivery).await });
            }
        }
    };
    let _ = tokio::time::timeout(drain, async { while running.join_next().await.is_some() {} }).await;
    outcome
}

/// Runs the job a delivery names, then acknowledges it; a failed run is not
/// acknowledged, so RabbitMQ delivers it again.
async fn handle_delivery(
    db: &DatabaseConnection,
    registry: &Registry,
    in_flight: &Mutex<HashSet<i64>>,
    delivery: lapin::message::Delivery,
) {
    let id = std::str::from_utf8(&delivery.data).ok().and_then(|s| s.parse::<i64>().ok());
    if let Some(id) = id {
        if let Ok(mut set) = in_flight.lock() {
            set.insert(id);
        }
        let outcome = consume(db, registry, id).await;
        if let Ok(mut set) = in_flight.lock() {
            set.remove(&id);
        }
        if let Err(err) = outcome {
            tracing::error!(job_id = id, error = %err, "running a job from RabbitMQ failed");
            return;
        }
    }
    if let Err(err) = delivery.ack(BasicAckOptions::default()).await {
        tracing::warn!(error = %err, "acknowledging a job failed (it will be delivered again)");
    }
}

/// Claims the due jobs and publishes their ids (confirmed by the broker).
async fn relay(db: &DatabaseConnection, publisher: &Channel, broker: &Broker, lease: Duration) -> Result<(), String> {
    // Jobs may wait in the queue behind others: their lease covers that wait.
    let lease = lease.max(Duration::from_secs(300));
    let claimed = jobs::claim(db, OWNER, 100, lease).await.map_err(|e| e.to_string())?;
    for job in claimed {
        let confirm = publisher
            .basic_publish(
                "".into(),
                broker.queue.as_str().into(),
                BasicPublishOptions::default(),
                job.id.to_string().as_bytes(),
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .map_err(|e| e.to_string())?;
        // Unconfirmed, the job stays claimed; its lease runs out and it is published again.
        confirm.await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs one job whose id came from the queue, if it is still handed to RabbitMQ.
async fn consume(db: &DatabaseConnection, registry: &Registry, id: i64) -> Result<(), DbErr> {
    let row = db
        .query_one_raw(statement(
            db.get_database_backend(),
            "SELECT organization_id, kind, payload, attempts, max_attempts FROM jobs
             WHERE id = $1 AND status = 'running' AND locked_by = $2",
            vec![id.into(), OWNER.into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok(()); // Done already (a message delivered twice), or taken back.
    };
    let payload: String = row.try_get_by_index(2)?;
    let job = ClaimedJob {
        id,
        organization_id: row.try_get_by_index(0)?,
        kind: row.try_get_by_index(1)?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        attempt: row.try_get_by_index(3)?,
        max_attempts: row.try_get_by_index(4)?,
    };
    registry.run(db, job, OWNER).await
}

/// Keeps the leases of the jobs this process is running.
async fn extend(db: &DatabaseConnection, ids: &[i64], lease: Duration) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let until = Utc::now() + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let _turn = db.write_turn().await;
    db.execute_raw(statement(
        db.get_database_backend(),
        &format!("UPDATE jobs SET locked_until = $1 WHERE status = 'running' AND locked_by = $2 AND id IN ({list})"),
        vec![until.into(), OWNER.into()],
    ))
    .await?;
    Ok(())
}
