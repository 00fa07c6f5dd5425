-- wrk script: create agents (POST) with a realistic body
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench agent","system_prompt":"You are a helpful receptionist for {name}.",' ..
  '"first_message":"Hello!","llm":{"provider":"openai","model":"gpt-4o-mini","api_key":"sk-bench"},' ..
  '"tts":{"provider":"flite"},"limits":{"max_duration":600}}'
