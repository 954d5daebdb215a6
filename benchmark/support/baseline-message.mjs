// The message a baseline builds by hand, as a user of client-sns would: the same JSON
// sns-logger sends (checkSameMessages in fixtures.mjs checks it). No addon here: the
// relay's client-sns baseline server must not load it.

/** The event's eventType from the plan (an enum value may override its action's); undefined for an unknown event. */
export function eventTypeOf(plan, event) {
  const category = plan.categories.find((c) => c.category === event.category)
  const action = category?.actions.find((a) => a.action === event.action)
  if (!action) return undefined
  for (const property of action.properties) {
    const value = property.values?.find((v) => v.value === event.properties?.[property.property])
    if (value?.eventType) return value.eventType
  }
  return action.eventType
}

/** The `Message` JSON of `event` for df_config entry `bot`, stamped now. */
export function messageJson(bot, event, eventType) {
  return JSON.stringify({
    dialogflowAgentId: bot.agent_id,
    roomId: event.roomId,
    tabId: event.tabId ?? '',
    category: event.category,
    action: event.action,
    properties: event.properties ?? {},
    eventType,
    timestamp: new Date().toISOString(),
  })
}
