//! The account's catalog as the emulator keeps it: signals, promotions (the account's and
//! those applied to customers), meter definitions and the per-meter prices usage cost uses.

use std::collections::BTreeMap;

use amberflo_types::{
    ApplyPromotionPayload, CustomerPromotion, EpochMillis, EpochSeconds, MeterDefinition,
    MeterDefinitionPayload, Promotion, Signal, SignalPayload,
};

use super::StoreError;

/// Everything catalog-related the emulator holds.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    signals: BTreeMap<String, Signal>,
    promotions: BTreeMap<String, Promotion>,
    applied: BTreeMap<String, Vec<CustomerPromotion>>,
    meters: BTreeMap<String, MeterDefinition>,
    pub(crate) prices: BTreeMap<String, f64>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

impl Catalog {
    // ----- Signals -----

    pub(crate) fn signals(&self) -> Vec<Signal> {
        self.signals.values().cloned().collect()
    }

    pub(crate) fn signal(&self, id: &str) -> Option<Signal> {
        self.signals.get(id).cloned()
    }

    pub(crate) fn create_signal(
        &mut self,
        payload: &SignalPayload,
        now_millis: i64,
    ) -> Result<Signal, StoreError> {
        if payload.id().is_some() {
            return Err(StoreError::Rejected(
                "id must not be set: the server assigns it".to_owned(),
            ));
        }
        let mut signal = Signal::from_payload(payload, new_id());
        signal.create_time = Some(EpochMillis::new(now_millis));
        signal.update_time = Some(EpochMillis::new(now_millis));
        self.signals.insert(signal.id.clone(), signal.clone());
        Ok(signal)
    }

    pub(crate) fn update_signal(
        &mut self,
        payload: &SignalPayload,
        now_millis: i64,
    ) -> Result<Signal, StoreError> {
        let Some(id) = payload.id() else {
            return Err(StoreError::Rejected("id must be set".to_owned()));
        };
        let Some(existing) = self.signals.get_mut(id) else {
            return Err(StoreError::NotFound(format!("signal {id} not found")));
        };
        let mut signal = Signal::from_payload(payload, id);
        signal.create_time = existing.create_time;
        signal.update_time = Some(EpochMillis::new(now_millis));
        *existing = signal.clone();
        Ok(signal)
    }

    pub(crate) fn delete_signal(&mut self, id: &str) -> Result<Signal, StoreError> {
        self.signals
            .remove(id)
            .ok_or_else(|| StoreError::NotFound(format!("signal {id} not found")))
    }

    // ----- Promotions -----

    pub(crate) fn add_promotion(&mut self, promotion: Promotion) {
        self.promotions.insert(promotion.id.clone(), promotion);
    }

    pub(crate) fn promotions(&self) -> Vec<Promotion> {
        self.promotions.values().cloned().collect()
    }

    pub(crate) fn promotion(&self, id: &str) -> Option<Promotion> {
        self.promotions.get(id).cloned()
    }

    pub(crate) fn apply_promotion(
        &mut self,
        payload: &ApplyPromotionPayload,
        now_seconds: i64,
    ) -> Result<CustomerPromotion, StoreError> {
        if !self.promotions.contains_key(payload.promotion_id()) {
            return Err(StoreError::NotFound(format!(
                "promotion {} not found",
                payload.promotion_id()
            )));
        }
        let applied = self
            .applied
            .entry(payload.customer_id().to_owned())
            .or_default();
        if applied.iter().any(|relation| {
            relation.promotion_id == payload.promotion_id()
                && relation.product_id == payload.product_id()
        }) {
            return Err(StoreError::Rejected(format!(
                "promotion {} is already applied to customer {}",
                payload.promotion_id(),
                payload.customer_id()
            )));
        }
        let mut relation = CustomerPromotion::default();
        relation.id = Some(new_id());
        relation.customer_id = payload.customer_id().to_owned();
        relation.promotion_id = payload.promotion_id().to_owned();
        relation.product_id = payload.product_id().to_owned();
        relation.applied_time_in_seconds = Some(EpochSeconds::new(
            payload
                .applied_time_range()
                .map_or(now_seconds, |range| range.start_time_in_seconds()),
        ));
        relation.added_time_in_seconds = Some(EpochSeconds::new(now_seconds));
        relation.relation_id = Some(new_id());
        relation.priority = Some(applied.len() as f64 + 1.0);
        applied.push(relation.clone());
        Ok(relation)
    }

    pub(crate) fn applied_promotions(
        &self,
        customer_id: &str,
        product_id: &str,
    ) -> Vec<CustomerPromotion> {
        self.applied
            .get(customer_id)
            .map(|applied| {
                applied
                    .iter()
                    .filter(|relation| relation.product_id == product_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Removes the customer's promotion whose promotion id (or relation id, or the id of the
    /// application) is `id`.
    pub(crate) fn remove_promotion(
        &mut self,
        customer_id: &str,
        id: &str,
        now_seconds: i64,
    ) -> Result<CustomerPromotion, StoreError> {
        let not_applied = || {
            StoreError::NotFound(format!(
                "promotion {id} is not applied to customer {customer_id}"
            ))
        };
        let applied = self.applied.get_mut(customer_id).ok_or_else(not_applied)?;
        let position = applied
            .iter()
            .position(|relation| {
                relation.promotion_id == id
                    || relation.relation_id.as_deref() == Some(id)
                    || relation.id.as_deref() == Some(id)
            })
            .ok_or_else(not_applied)?;
        let mut removed = applied.remove(position);
        removed.removed_time_in_seconds = Some(EpochSeconds::new(now_seconds));
        Ok(removed)
    }

    // ----- Meters -----

    pub(crate) fn meters(&self) -> Vec<MeterDefinition> {
        self.meters.values().cloned().collect()
    }

    pub(crate) fn meter_by_name(&self, meter_api_name: &str) -> Option<MeterDefinition> {
        self.meters
            .values()
            .find(|meter| meter.meter_api_name == meter_api_name)
            .cloned()
    }

    pub(crate) fn create_meter(
        &mut self,
        payload: &MeterDefinitionPayload,
    ) -> Result<MeterDefinition, StoreError> {
        if payload.id().is_some() {
            return Err(StoreError::Rejected(
                "id must not be set: the server assigns it".to_owned(),
            ));
        }
        if self.meter_by_name(payload.meter_api_name()).is_some() {
            return Err(StoreError::Rejected("Meter already exists".to_owned()));
        }
        let meter = MeterDefinition::from_payload(payload, new_id());
        self.meters.insert(meter.id.clone(), meter.clone());
        Ok(meter)
    }

    /// Replaces a meter; like the API, without the server id it is a second create of an
    /// existing name: 400 "Meter already exists".
    pub(crate) fn update_meter(
        &mut self,
        payload: &MeterDefinitionPayload,
    ) -> Result<MeterDefinition, StoreError> {
        let Some(id) = payload.id() else {
            return Err(StoreError::Rejected("Meter already exists".to_owned()));
        };
        if self
            .meters
            .values()
            .any(|meter| meter.id != id && meter.meter_api_name == payload.meter_api_name())
        {
            return Err(StoreError::Rejected("Meter already exists".to_owned()));
        }
        let Some(existing) = self.meters.get_mut(id) else {
            return Err(StoreError::NotFound(format!("meter {id} not found")));
        };
        *existing = MeterDefinition::from_payload(payload, id);
        Ok(existing.clone())
    }

    /// Deletes a meter by id; it must be deprecated first (400 otherwise).
    pub(crate) fn delete_meter(&mut self, id: &str) -> Result<MeterDefinition, StoreError> {
        if self
            .meters
            .get(id)
            .is_some_and(|meter| !meter.is_deprecated())
        {
            return Err(StoreError::Rejected(format!(
                "meter {id} must have lockingStatus \"deprecated\" before it is deleted"
            )));
        }
        self.meters
            .remove(id)
            .ok_or_else(|| StoreError::NotFound(format!("meter {id} not found")))
    }

    pub(crate) fn clear(&mut self) {
        *self = Catalog::default();
    }
}
