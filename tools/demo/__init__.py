"""``make demo``: the dev stage deployed by the real CDK CLI into a local AWS emulator (moto), and its loop run.

``server/`` starts and patches the emulator and deploys the app; ``emulators/`` holds the AWS service
behaviours moto lacks, each a small module that says what is real and what is emulated.
"""
