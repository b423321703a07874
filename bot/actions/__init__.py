"""The bot's custom actions, written for rasa-sdk as any Rasa project's `actions/` package.

Baton registers every `rasa_sdk.Action` subclass in the packages named by `BATON_ACTIONS_PACKAGES`
(default: this one) and runs them in-process (bot/custom_actions.py). An action listed in
data/domain.yml under `actions:` and used in data/rules.yml is called by Rasa's dialogue like
any custom action. Actions that need the shop's data call `bot.custom_actions.current_shop()`.
"""
