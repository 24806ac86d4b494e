"""The HTTP service a chatbot calls (`faqsearch serve`): `app.py` the endpoints, `requests.py`
what a request may hold, `service.py` the batching worker, `tenants.py` which indexes are served
and which are open, `gate.py` the token and body checks, `metrics.py` what an operator watches. On a Ray cluster:
`cluster.py` the Ray Serve deployments, `deploy.py` what their config says and how it is sent,
`localray.py` a cluster on one machine to try it on."""
